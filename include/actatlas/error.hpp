/// @file error.hpp
/// The one exception type for bad input. Its message is a single line that names the
/// file (or argument) and the problem, so that a command-line program can print it as is.
#pragma once

#include <stdexcept>
#include <string>

namespace actatlas {

//! Bad input: a file that cannot be read, a wrong shape, an unknown name. Programs
//! answer it with exit status 2; any other exception is an internal error (status 1).
class input_error : public std::runtime_error {
 public:
  input_error(const std::string& where, const std::string& problem)
      : std::runtime_error(where.empty() ? problem : where + ": " + problem), where_(where) {}
  //! The file or argument the problem is about (may be empty).
  const std::string& where() const noexcept { return where_; }

 private:
  std::string where_;
};

}  // namespace actatlas
