# upshot_warnings(target): the warning set every first-party C target builds with.
function(upshot_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wundef -Wno-unused-parameter
    # Calls that do not match their prototype are bugs, never style: fail
    # the build (a merge once passed a config where settings were due).
    -Werror=incompatible-pointer-types -Werror=implicit-function-declaration
    -Werror=int-conversion
    # GCC only (clang has no such warning): snprintf into fixed buffers that
    # may truncate is deliberate where it appears (bounded messages).
    $<$<C_COMPILER_ID:GNU>:-Wno-format-truncation>)
  if(UPSHOT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
option(UPSHOT_WERROR "treat warnings as errors" OFF)
