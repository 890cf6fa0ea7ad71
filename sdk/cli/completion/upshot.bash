# bash completion for upshot, the command-line dashboard of upshotd.
#
# Install: copy to /usr/share/bash-completion/completions/upshot (or source
# it from ~/.bashrc). Completes
#   - the command (upshot s<TAB> -> show start stop);
#   - options, read from `upshot COMMAND --help`, so they stay those of
#     the installed binary;
#   - the values of options with a fixed set (--metric, --correction,
#     --color, --status) and file names for --file, --output, --html;
#   - experiment keys, from `upshot ls --json` on the server of UPSHOT_URL
#     (only when it is set: a TAB never waits on a server nobody named;
#     the request is bounded by --timeout 2).
# Plain bash: no bash-completion helpers, no jq.

_upshot_commands="ls show watch promote unpromote breaker start stop create log export report analyze help version"

# The options of a command (or the global ones), one per line; a trailing
# "=" marks those that take a value.
_upshot_options()
{
    local cmd=$1
    "${UPSHOT_BIN:-upshot}" $cmd --help 2>/dev/null |
        sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z][a-z-]*\)\( [^ ]\{1,\}\)\{0,1\} .*/\2\3/p' |
        sed 's/ .*/=/'
}

_upshot_keys()
{
    [[ -n ${UPSHOT_URL-} ]] || return 0
    "${UPSHOT_BIN:-upshot}" ls --json --timeout 2 2>/dev/null |
        sed -n 's/^ *"key": "\([a-z0-9_-]*\)",\{0,1\}$/\1/p'
}

_upshot_complete()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD-1]}
    COMPREPLY=()

    # the command: the first word after upshot that is not an option
    local cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} != -* ]]; then
            cmd=${COMP_WORDS[i]}
            break
        fi
    done
    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_upshot_commands" -- "$cur"))
        fi
        return 0
    fi

    case $prev in
        --metric) COMPREPLY=($(compgen -W "conversion revenue aov" -- "$cur")); return 0 ;;
        --correction) COMPREPLY=($(compgen -W "holm bh" -- "$cur")); return 0 ;;
        --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return 0 ;;
        --status|-s) COMPREPLY=($(compgen -W "draft running stopped" -- "$cur")); return 0 ;;
        --file|-f|--output|-o|--html)
            COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    esac

    local opts
    opts=$(_upshot_options "$cmd")
    # the value of an option that takes one: nothing sensible to offer
    if [[ $prev == --* ]] && grep -qx -- "$prev=" <<<"$opts"; then
        return 0
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(sed 's/=$//' <<<"$opts")" -- "$cur"))
        return 0
    fi
    case $cmd in
        show|watch|promote|unpromote|breaker|start|stop|log|export|report)
            COMPREPLY=($(compgen -W "$(_upshot_keys)" -- "$cur")) ;;
        analyze)
            COMPREPLY=($(compgen -f -- "$cur")) ;;
        help)
            COMPREPLY=($(compgen -W "$_upshot_commands" -- "$cur")) ;;
    esac
    return 0
}

complete -F _upshot_complete upshot
