/// @file fuzz/fuzz_input.hpp
/// What every fuzz target shares. The parsers under test read files (that is how they
/// meet outside input), so each input is written to one scratch file per process and the
/// parser reads it from there. A target catches `actatlas::input_error` only: that is the
/// promised answer to bad input. Anything else escaping (a JSON library exception, a
/// bad_alloc, a length_error) reaches std::terminate, and the fuzzer reports it as a crash,
/// because the program would answer it with "internal error" instead of one line and exit 2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace actatlas::fuzz {

//! A scratch folder of this process: $ACTATLAS_FUZZ_TMP, else /dev/shm (no disk wear at
//! thousands of writes a second), else the temp dir.
inline const std::filesystem::path& scratch_folder() {
  static const std::filesystem::path folder = [] {
    namespace fs = std::filesystem;
    fs::path base;
    if (const char* t = std::getenv("ACTATLAS_FUZZ_TMP")) base = t;
    else if (fs::is_directory("/dev/shm")) base = "/dev/shm";
    else base = fs::temp_directory_path();
    auto f = base / ("actatlas-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(f);
    return f;
  }();
  return folder;
}

//! Writes the input to `name` in the scratch folder and returns its path.
inline std::filesystem::path write_input(const std::uint8_t* data, std::size_t size, const std::string& name) {
  const auto path = scratch_folder() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::perror(path.c_str());
    std::abort();
  }
  return path;
}

}  // namespace actatlas::fuzz
