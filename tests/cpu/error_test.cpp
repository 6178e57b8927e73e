// input_error's message is one printable line whatever bytes the quoted file held
// (issue 18, item 2): raw bytes become \xHH, valid UTF-8 stays as written.
#include <catch2/catch.hpp>

#include <actatlas/error.hpp>

#include <string>

using actatlas::printable_line;

TEST_CASE("printable_line keeps printable ASCII and well-formed UTF-8", "[error]") {
  CHECK(printable_line("model.pt: layer 'features.7' has 32 channels") == "model.pt: layer 'features.7' has 32 channels");
  CHECK(printable_line("grid 20×20, café, CO₂, 🦜") == "grid 20×20, café, CO₂, 🦜");
  // The last code points of each sequence length are still valid.
  CHECK(printable_line("\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf") == "\\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf");
  CHECK(printable_line("C:\\models\\a.pt") == "C:\\models\\a.pt");
  CHECK(printable_line("") == "");
}

TEST_CASE("printable_line escapes control characters and keeps one line", "[error]") {
  CHECK(printable_line("first\nsecond\r\tthird") == "first\\nsecond\\r\\tthird");
  CHECK(printable_line(std::string("nul\0here", 8)) == "nul\\x00here");
  CHECK(printable_line("\x1b[31mred") == "\\x1b[31mred");
  // C1 controls and the Unicode line and paragraph separators, encoded as UTF-8.
  CHECK(printable_line("a\xc2\x85" "b\xe2\x80\xa8" "c\xe2\x80\xa9" "d\xc2\x9b") == "a\\u0085b\\u2028c\\u2029d\\u009b");
}

TEST_CASE("printable_line escapes bytes that are not well-formed UTF-8", "[error]") {
  // A PNG signature, as a corrupt archive's actatlas.json might start.
  CHECK(printable_line("\x89PNG\r\n\x1a\n") == "\\x89PNG\\r\\n\\x1a\\n");
  CHECK(printable_line("\xff\xfe") == "\\xff\\xfe");
  // Overlong forms ('/' in two bytes, NUL in three), a surrogate, and a code point past U+10FFFF.
  CHECK(printable_line("\xc0\xaf") == "\\xc0\\xaf");
  CHECK(printable_line("\xe0\x80\x80") == "\\xe0\\x80\\x80");
  CHECK(printable_line("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(printable_line("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");
  // A sequence cut short by the end of the text or by an ASCII byte; a stray continuation byte.
  CHECK(printable_line("ok\xe2\x82") == "ok\\xe2\\x82");
  CHECK(printable_line("\xe2\x82x\xc3\xa9") == "\\xe2\\x82x\xc3\xa9");
  CHECK(printable_line("\x80" "a") == "\\x80a");
}

TEST_CASE("input_error's message is printable and its where() is the name as given", "[error]") {
  const std::string file = "bad\xff.pt";
  const actatlas::input_error e(file, "actatlas.json is not valid JSON: last read: '\x89PNG\r\n'\nsecond line");
  const std::string what = e.what();
  CHECK(what == "bad\\xff.pt: actatlas.json is not valid JSON: last read: '\\x89PNG\\r\\n'\\nsecond line");
  CHECK(what.find('\n') == std::string::npos);
  CHECK(e.where() == file);
  CHECK(std::string(actatlas::input_error("", "été\n").what()) == "été\\n");
}
