# The warnings every Holdfast build uses, for the main tree (CMakeLists.txt) and the standalone
# fuzz build (tests/fuzz/CMakeLists.txt): -Wall -Wextra -Wpedantic everywhere, and -Werror when
# HOLDFAST_WERROR is on — by default when the CI environment variable is set to anything but
# "false" (.ci/run sets CI=true; tools/dev passes -DHOLDFAST_WERROR=ON there too).
if(DEFINED ENV{CI} AND NOT "$ENV{CI}" STREQUAL "" AND NOT "$ENV{CI}" STREQUAL "false")
  set(holdfast_werror_default ON)
else()
  set(holdfast_werror_default OFF)
endif()
option(HOLDFAST_WERROR "Treat compiler warnings as errors" ${holdfast_werror_default})

add_compile_options(-Wall -Wextra -Wpedantic)
if(HOLDFAST_WERROR)
  add_compile_options(-Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 reports a false -Wrestrict inside libstdc++ for `"literal" + std::string` at -O2 and
    # above (GCC bug 105329): still shown, never fatal.
    add_compile_options(-Wno-error=restrict)
  endif()
endif()
