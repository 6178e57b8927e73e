/// @file error.hpp
/// The one exception type for bad input. Its message is a single line that names the
/// file (or argument) and the problem, so that a command-line program can print it as is.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace actatlas {

//! `text` made safe for one line of a terminal or a log: well-formed UTF-8 (é, ×, ₂) and
//! printable ASCII pass unchanged; newline, carriage return and tab become `\n`, `\r`,
//! `\t`; other control bytes (ESC among them, so no terminal sequence gets through) and
//! bytes that are not part of well-formed UTF-8 become `\xHH`; the C1 controls and the
//! Unicode line and paragraph separators become `\uHHHH`. A backslash already in the text
//! is kept as it is: messages are for people, who rarely meet backslashes in paths here,
//! and doubling them would make Windows-style paths and regexes harder to read.
//!
//! Messages quote file contents (a parser's "last read" token, a name from a header), so
//! a corrupt file must not be able to print raw bytes or break the line.
inline std::string printable_line(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto escape_byte = [&](unsigned char b) {
    out += "\\x";
    out += hex[b >> 4];
    out += hex[b & 0xf];
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char b = byte(i);
    if (b < 0x80) {
      if (b == '\n') {
        out += "\\n";
      } else if (b == '\r') {
        out += "\\r";
      } else if (b == '\t') {
        out += "\\t";
      } else if (b < 0x20 || b == 0x7f) {
        escape_byte(b);
      } else {
        out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    // The length and the smallest code point of a sequence led by b (RFC 3629 forbids
    // overlong forms, surrogates and code points above U+10FFFF).
    const std::size_t length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    static constexpr char32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    static constexpr unsigned char lead_bits[] = {0, 0, 0x1f, 0x0f, 0x07};
    char32_t cp = b & lead_bits[length];
    bool valid = length != 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k) {
      valid = (byte(i + k) & 0xc0) == 0x80;
      cp = (cp << 6) | (byte(i + k) & 0x3f);
    }
    valid = valid && cp >= min_cp[length] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    if (!valid) {
      // Only the lead byte: the bytes after it are looked at again on their own.
      escape_byte(b);
      ++i;
      continue;
    }
    if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out += hex[(cp >> shift) & 0xf];
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

//! Bad input: a file that cannot be read, a wrong shape, an unknown name. Programs
//! answer it with exit status 2; any other exception is an internal error (status 1).
//! The message goes through `printable_line`, whatever the file it quotes holds.
class input_error : public std::runtime_error {
 public:
  input_error(const std::string& where, const std::string& problem)
      : std::runtime_error(printable_line(where.empty() ? problem : where + ": " + problem)), where_(where) {}
  //! The file or argument the problem is about (may be empty), as given (not escaped).
  const std::string& where() const noexcept { return where_; }

 private:
  std::string where_;
};

//! This process stopped because another process of its job (torch/process_group.hpp)
//! stopped: one that was lost (killed, unreachable), or one that failed and said why.
//! The message names that rank; the exit status is what the other rank's own failure
//! gives (2 for its bad input, 130/143 for its signal, 1 otherwise).
class rank_stopped : public std::runtime_error {
 public:
  rank_stopped(const std::string& message, int exit_status)
      : std::runtime_error(printable_line(message)), exit_status_(exit_status) {}
  int exit_status() const noexcept { return exit_status_; }

 private:
  int exit_status_;
};

}  // namespace actatlas
