# bash completion for jitsudo: sudo's options, then the command and that
# command's own completion (bash-completion's _command_offset, as for sudo);
# users after -u and -U, groups after -g, directories after -D.
# `jitsudoctl generate-docs` fills in the option lists from jitsudo's clap
# definition; it is installed as /usr/share/bash-completion/completions/jitsudo.

_jitsudo() {
    local cur prev words cword
    _init_completion || return

    # Options taking a value (the next word): @VALUED@
    local valued='@VALUED_RE@'
    local i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --) _command_offset $((i + 1)); return ;;
            -*=*) ;;
            -*) [[ ${words[i]} =~ $valued ]] && ((i++)) ;;
            *=*) ;;
            *) _command_offset "$i"; return ;;
        esac
    done

    case $prev in
        -u | --user | -U | --other-user)
            COMPREPLY=($(compgen -u -- "$cur"))
            return ;;
        -g | --group)
            COMPREPLY=($(compgen -g -- "$cur"))
            return ;;
        -D | --chdir)
            _filedir -d
            return ;;
    esac
    if [[ $prev =~ $valued ]]; then
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '@OPTIONS@' -- "$cur"))
        return
    fi
    _command_offset "$cword"
}
complete -F _jitsudo jitsudo
