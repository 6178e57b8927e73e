# stb (libstb-dev) is a set of single-file headers with no CMake package.
# Provides actatlas::stb.
find_path(STB_INCLUDE_DIR stb/stb_image.h)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(stb REQUIRED_VARS STB_INCLUDE_DIR)
if(stb_FOUND AND NOT TARGET actatlas::stb)
  add_library(actatlas::stb INTERFACE IMPORTED)
  set_target_properties(actatlas::stb PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${STB_INCLUDE_DIR}")
endif()
