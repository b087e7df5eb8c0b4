
# jitsudoctl approve/deny <Tab>: the ids of the pending requests the
# caller may review, asked of the daemon (JITSUDOCTL_COMPLETE=requests);
# every other word as the completion above completes it.
# `jitsudoctl generate-docs` appends this to the generated script.

# Whether the word being completed is approve's or deny's request id: no
# id before it, and not the value of an option (a --socket given is kept
# in _jitsudoctl_socket, the caller's local).
_jitsudoctl_wants_request_id() {
    case ${COMP_WORDS[1]} in
        approve | deny) ;;
        *) return 1 ;;
    esac
    local i
    for ((i = 2; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --socket) _jitsudoctl_socket=${COMP_WORDS[i + 1]}; ((i++)) ;;
            --reason | --format) ((i++)) ;;
            -*) ;;
            *) return 1 ;;
        esac
    done
    ((i == COMP_CWORD)) && [[ ${COMP_WORDS[COMP_CWORD]} != -* ]]
}

_jitsudoctl_with_requests() {
    local _jitsudoctl_socket=${JITSUDO_SOCKET-}
    if _jitsudoctl_wants_request_id; then
        local ids
        ids=$(JITSUDO_SOCKET=$_jitsudoctl_socket JITSUDOCTL_COMPLETE=requests \
            "${COMP_WORDS[0]}" 2>/dev/null)
        # Ids only: no file names when there is none.
        compopt +o default +o bashdefault 2>/dev/null
        COMPREPLY=($(compgen -W "$ids" -- "${COMP_WORDS[COMP_CWORD]}"))
        return 0
    fi
    _jitsudoctl "$@"
}
complete -F _jitsudoctl_with_requests -o bashdefault -o default jitsudoctl
