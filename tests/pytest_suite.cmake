# hubstats_pytest(NAME <ctest name> PATH <file or dir>... [TIMEOUT s])
# Runs Debian's pytest (/usr/bin/python3) with the build dir in the environment.
function(hubstats_pytest)
  cmake_parse_arguments(P "" "NAME;TIMEOUT" "PATH" ${ARGN})
  if(NOT P_TIMEOUT)
    set(P_TIMEOUT 900)
  endif()
  add_test(NAME ${P_NAME}
    COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider ${P_PATH}
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/tests)
  set_tests_properties(${P_NAME} PROPERTIES
    TIMEOUT ${P_TIMEOUT}
    ENVIRONMENT "HUBSTATS_BUILD_DIR=${CMAKE_BINARY_DIR};HUBSTATS_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1")
endfunction()
