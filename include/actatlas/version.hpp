/// @file version.hpp
/// The library's version; CMake reads it from here.
#pragma once

#define ACTATLAS_VERSION_MAJOR 0
#define ACTATLAS_VERSION_MINOR 1
#define ACTATLAS_VERSION_PATCH 0

namespace actatlas {
inline constexpr int version_major = ACTATLAS_VERSION_MAJOR;
inline constexpr int version_minor = ACTATLAS_VERSION_MINOR;
inline constexpr int version_patch = ACTATLAS_VERSION_PATCH;
}  // namespace actatlas
