# upshot_sanitizers(target): with -DUPSHOT_SANITIZE=ON, builds the target with
# AddressSanitizer and UndefinedBehaviorSanitizer; any report aborts the
# process so tests fail. Applied per first-party target (never globally), so
# a dependency pulled in later is not rebuilt with flags it was not written
# for. Link options are PUBLIC: whatever links a sanitized library links the
# runtime too.
option(UPSHOT_SANITIZE "build with ASan + UBSan" OFF)
function(upshot_sanitizers target)
  if(UPSHOT_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined
                           -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
endfunction()
