# GitVersion.cmake: writes OUT from IN with UPSHOT_VERSION (passed in) and
# UPSHOT_GIT_DESCRIBE (`git describe --always --dirty` of SRC, or "" when
# SRC is no git checkout or git is missing). Run as a script at every
# build (engine/CMakeLists.txt, target upshot_version), so the version
# follows commits without a reconfigure; configure_file leaves OUT alone
# when nothing changed, so nothing is recompiled then.
#   cmake -DSRC=dir -DIN=file.in -DOUT=file.h -DUPSHOT_VERSION=0.1.0 -P GitVersion.cmake
set(UPSHOT_GIT_DESCRIBE "")
find_program(GIT_EXECUTABLE git)
if(GIT_EXECUTABLE)
  execute_process(COMMAND ${GIT_EXECUTABLE} describe --always --dirty
                  WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE describe OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET RESULT_VARIABLE rc)
  if(rc EQUAL 0)
    set(UPSHOT_GIT_DESCRIBE "${describe}")
  endif()
endif()
set(PROJECT_VERSION "${UPSHOT_VERSION}")
configure_file(${IN} ${OUT} @ONLY)
