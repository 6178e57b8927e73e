/// @file io/provenance_csv.hpp
/// `provenance.csv`: one row per sample, `image,x,y` — the image file a sample came from
/// and its position on the layer's map. File names are whatever people have (spaces,
/// commas, quotes, non-ASCII, even line breaks), so the image field follows RFC 4180:
/// quoted when it holds a comma, a quote or a line break, quotes doubled inside. A quoted
/// field may span lines; the reader follows it.
///
/// @code
/// std::string row = io::csv_field("cats, dogs/\"a\".png") + ",3,4\n";   // "cats, dogs/""a"".png",3,4
/// auto rows = io::read_provenance(run / "provenance.csv");              // rows[0].image == cats, dogs/"a".png
/// @endcode
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "../error.hpp"

namespace actatlas::io {

//! A CSV field (RFC 4180): quoted when it holds a comma, quote or line break.
inline std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

//! One row of provenance.csv: the image a sample came from and its map position.
struct provenance_row {
  std::string image;
  std::int32_t x = 0, y = 0;
};

namespace detail {
//! A decimal int32 (optional leading '-') at `text[pos]`, up to `stop` or the line's end;
//! false for anything else (empty, other characters, out of range).
inline bool parse_int32(std::string_view text, std::size_t& pos, char stop, std::int32_t& out) {
  const std::size_t begin = pos;
  bool negative = false;
  if (pos < text.size() && text[pos] == '-') negative = true, ++pos;
  std::int64_t value = 0;
  std::size_t digits = 0;
  for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits) {
    value = value * 10 + (text[pos] - '0');
    if (value > 2147483648LL) return false;
  }
  if (digits == 0 || (!negative && value > 2147483647LL)) return (pos = begin, false);
  if (pos < text.size() && text[pos] == '\r') ++pos;  // a file saved with CRLF line ends
  if (pos < text.size() && text[pos] != stop) return false;
  if (pos == text.size() && stop != '\n') return false;
  out = static_cast<std::int32_t>(negative ? -value : value);
  return true;
}
}  // namespace detail

//! Parses the text of a provenance file (header `image,x,y`). `where` names it in errors:
//! "<where>: line L is not image,x,y", with L the line the bad row starts on.
inline std::vector<provenance_row> parse_provenance(std::string_view text, const std::string& where) {
  std::size_t pos = text.find('\n');
  const std::string_view header = text.substr(0, pos);
  if (header.rfind("image,x,y", 0) != 0) throw input_error(where, "not a provenance file (header must be image,x,y)");
  std::vector<provenance_row> rows;
  std::size_t line = 1;
  pos = pos == std::string_view::npos ? text.size() : pos + 1;
  while (pos < text.size()) {
    ++line;
    const std::size_t row_line = line;
    if (text[pos] == '\n') {  // an empty line
      ++pos;
      continue;
    }
    const auto bad = [&] { return input_error(where, "line " + std::to_string(row_line) + " is not image,x,y"); };
    provenance_row r;
    if (text[pos] == '"') {
      ++pos;
      for (;;) {
        if (pos >= text.size()) throw bad();  // the quote never closes
        if (text[pos] == '"') {
          if (pos + 1 < text.size() && text[pos + 1] == '"') {
            r.image += '"';
            pos += 2;
            continue;
          }
          ++pos;
          break;
        }
        if (text[pos] == '\n') ++line;
        r.image += text[pos++];
      }
    } else {
      const std::size_t comma = text.find_first_of(",\n", pos);
      if (comma == std::string_view::npos) throw bad();
      r.image.assign(text.substr(pos, comma - pos));
      pos = comma;
    }
    if (pos >= text.size() || text[pos] != ',') throw bad();
    ++pos;
    if (!detail::parse_int32(text, pos, ',', r.x)) throw bad();
    ++pos;
    if (!detail::parse_int32(text, pos, '\n', r.y)) throw bad();
    ++pos;  // past the '\n' (or the end)
    rows.push_back(std::move(r));
  }
  return rows;
}

//! Reads and parses a provenance file; input_error naming it when it cannot be read.
inline std::vector<provenance_row> read_provenance(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path.string(), "cannot open (no such file, or not readable)");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw input_error(path.string(), "read failed");
  return parse_provenance(text, path.string());
}

}  // namespace actatlas::io
