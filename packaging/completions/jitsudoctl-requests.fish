
# jitsudoctl approve/deny <Tab>: the ids of the pending requests the
# caller may review, asked of the daemon. Appended by
# `jitsudoctl generate-docs` to the generated completion.
complete -c jitsudoctl -n "__fish_jitsudoctl_using_subcommand approve; or __fish_jitsudoctl_using_subcommand deny" -f -a "(env JITSUDOCTL_COMPLETE=requests jitsudoctl 2>/dev/null)" -d 'pending request'
