# upshot_target_defaults(target): what every first-party C target gets, the
# project's warning set and, when asked for, the sanitizers.
include(UpshotWarnings)
include(UpshotSanitizers)
function(upshot_target_defaults target)
  upshot_warnings(${target})
  upshot_sanitizers(${target})
endfunction()
