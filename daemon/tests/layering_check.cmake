# Compiles `#include "HEADER"` with only the include root of one layer (ROOT). By
# default the include must fail as "No such file" (HEADER belongs to an upper layer);
# with EXPECT=ok it must compile. Used by the daemon_layering_* tests.
file(MAKE_DIRECTORY ${OUT})
string(MAKE_C_IDENTIFIER "${HEADER}" id)
set(src ${OUT}/${id}.cpp)
file(WRITE ${src} "#include \"${HEADER}\"\n")
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${ROOT} ${src}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(EXPECT STREQUAL "ok")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${HEADER} should compile with ${ROOT}:\n${err}")
  endif()
  message(STATUS "${HEADER} is visible from ${ROOT}, as it should be")
elseif(rc EQUAL 0)
  message(FATAL_ERROR "${HEADER} compiled with ${ROOT}: the layering is not enforced")
elseif(NOT err MATCHES "${HEADER}: No such file or directory")
  message(FATAL_ERROR "${HEADER} failed for another reason than not being visible:\n${err}")
else()
  message(STATUS "${HEADER} is not visible from ${ROOT}: ${err}")
endif()
