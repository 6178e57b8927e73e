# Finds CLI11 (header-only command-line parser; Debian: libcli11-dev), for the actatlas
# program only (the library does not use it). Prefers CLI11's own package config
# (/usr/share/cmake/CLI11), and falls back to the header, so that a CLI11 copied into an
# include path works too. Defines the target CLI11::CLI11.
find_package(CLI11 2.1 CONFIG QUIET NO_MODULE)
if(CLI11_FOUND AND TARGET CLI11::CLI11)
  return()
endif()
find_path(CLI11_INCLUDE_DIR NAMES CLI/CLI.hpp)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CLI11 REQUIRED_VARS CLI11_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "the actatlas program needs CLI11 (Debian: apt-get install libcli11-dev; scripts/setup.sh installs it)")
if(CLI11_FOUND AND NOT TARGET CLI11::CLI11)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CLI11_INCLUDE_DIR}")
endif()
