# hnswlib is header-only and Debian's libhnswlib-dev ships no CMake package.
# Provides actatlas::hnswlib.
find_path(HNSWLIB_INCLUDE_DIR hnswlib/hnswlib.h)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(hnswlib REQUIRED_VARS HNSWLIB_INCLUDE_DIR)
if(hnswlib_FOUND AND NOT TARGET actatlas::hnswlib)
  add_library(actatlas::hnswlib INTERFACE IMPORTED)
  set_target_properties(actatlas::hnswlib PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${HNSWLIB_INCLUDE_DIR}")
endif()
