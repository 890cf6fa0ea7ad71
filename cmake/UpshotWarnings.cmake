# upshot_warnings(target): the warning set every first-party C target builds with.
function(upshot_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wundef -Wno-unused-parameter -Wno-format-truncation)
  if(UPSHOT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
option(UPSHOT_WERROR "treat warnings as errors" OFF)
