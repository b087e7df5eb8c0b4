# jitsudoctl approve/deny <Tab>: the ids of the pending requests the
# caller may review, asked of the daemon. `jitsudoctl generate-docs` puts
# this into the generated completion and names it as the action of
# approve's and deny's id.
(( $+functions[_jitsudoctl_requests] )) ||
_jitsudoctl_requests() {
    local -a ids
    ids=(${(f)"$(JITSUDOCTL_COMPLETE=requests jitsudoctl 2>/dev/null)"})
    _describe -t requests 'pending request' ids
}

