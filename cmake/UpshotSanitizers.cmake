# upshot_sanitizers(target): with -DUPSHOT_SANITIZE=ON, builds the target with
# AddressSanitizer and UndefinedBehaviorSanitizer; any report aborts the
# process so tests fail. Applied per first-party target (never globally), so
# a dependency pulled in later is not rebuilt with flags it was not written
# for. Link options are PUBLIC: whatever links a sanitized library links the
# runtime too.
#
# With -DUPSHOT_FUZZ=ON (clang only, tests/fuzz/), every first-party target is
# also instrumented for libFuzzer's coverage (-fsanitize=fuzzer-no-link), so
# the harnesses, which link -fsanitize=fuzzer, see the branches of the
# parsers they drive.
option(UPSHOT_SANITIZE "build with ASan + UBSan" OFF)
option(UPSHOT_FUZZ "build the libFuzzer harnesses of tests/fuzz (clang only)" OFF)
function(upshot_sanitizers target)
  if(UPSHOT_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                           -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  elseif(UPSHOT_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined
                           -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
endfunction()
