// The .safetensors reader and writer: round trips, hand-built files (F16, BF16, metadata,
// header padding), and every kind of corrupt file, each of which must be an input_error
// that names the file and, where there is one, the tensor.
#include <catch2/catch.hpp>

#include <actatlas/io/safetensors.hpp>

#include <cmath>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using actatlas::input_error;
using actatlas::io::safetensors_dtype;
using actatlas::io::safetensors_file;
using actatlas::io::safetensors_writer;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    path = fs::temp_directory_path() / ("actatlas_safetensors_" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void put_u64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

//! A file made by hand: length, header text, data bytes, exactly as given.
void write_raw(const fs::path& p, const std::string& header, const std::string& data, std::uint64_t length_field) {
  std::string bytes;
  put_u64(bytes, length_field);
  bytes += header + data;
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
void write_raw(const fs::path& p, const std::string& header, const std::string& data) {
  write_raw(p, header, data, header.size());
}

std::string floats_le(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());  // the test hosts are little-endian
  return s;
}

//! Expects opening (or reading) to fail with a message that contains every `needle`.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& needles) {
  try {
    f();
    FAIL("no input_error thrown");
  } catch (const input_error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find('\n') == std::string::npos);
    for (const auto& n : needles) CHECK(msg.find(n) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("safetensors: writer round-trips tensors and metadata bit for bit", "[safetensors]") {
  temp_dir dir;
  const fs::path file = dir.path / "w.safetensors";
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> a(2 * 3 * 5 * 5), b(17), scalar{-3.25f};
  for (auto& x : a) x = normal(rng);
  for (auto& x : b) x = normal(rng) * 1e-30f;  // tiny values survive exactly too
  b[3] = std::numeric_limits<float>::infinity();

  safetensors_writer w;
  w.add("layer.weight", {2, 3, 5, 5}, a.data());
  w.add("layer.bias", {17}, b);
  w.add("scale", {}, scalar);
  w.add("empty", {0, 4}, std::vector<float>{});
  w.metadata("format", "pt");
  w.metadata("note", "x");
  w.write(file);
  REQUIRE(fs::exists(file));
  for (const auto& entry : fs::directory_iterator(dir.path)) CHECK(entry.path() == file);  // no temporary left

  safetensors_file f(file);
  REQUIRE(f.tensors().size() == 4);
  CHECK(f.metadata().at("format") == "pt");
  CHECK(f.metadata().at("note") == "x");
  const auto& w_entry = f.at("layer.weight");
  CHECK(w_entry.dtype == safetensors_dtype::F32);
  CHECK(w_entry.shape == std::vector<std::int64_t>{2, 3, 5, 5});
  CHECK(w_entry.count() == 150);
  CHECK(f.read_float("layer.weight") == a);
  CHECK(f.read_float("layer.bias") == b);
  CHECK(f.read_float("scale") == scalar);
  CHECK(f.at("scale").shape.empty());
  CHECK(f.read_float("empty").empty());
  CHECK_FALSE(f.contains("missing"));
  expect_error([&] { (void)f.read_float("missing"); }, {file.string(), "'missing'"});

  // Same content → same bytes (tensors are written in name order).
  safetensors_writer w2;
  w2.metadata("note", "x");
  w2.add("scale", {}, scalar);
  w2.add("empty", {0, 4}, std::vector<float>{});
  w2.add("layer.bias", {17}, b);
  w2.metadata("format", "pt");
  w2.add("layer.weight", {2, 3, 5, 5}, a.data());
  w2.write(dir.path / "w2.safetensors");
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(slurp(file) == slurp(dir.path / "w2.safetensors"));
  // Data starts 8-byte aligned.
  const std::string bytes = slurp(file);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  CHECK(n % 8 == 0);
}

TEST_CASE("safetensors: writer refuses duplicate names and wrong value counts", "[safetensors]") {
  safetensors_writer w;
  w.add("a", {2}, std::vector<float>{1, 2});
  expect_error([&] { w.add("a", {1}, std::vector<float>{1}); }, {"'a'", "twice"});
  expect_error([&] { w.add("b", {3}, std::vector<float>{1, 2}); }, {"'b'", "3 values"});
}

TEST_CASE("safetensors: hand-built files with F16, BF16, F64, metadata and padding", "[safetensors]") {
  temp_dir dir;
  const fs::path file = dir.path / "hand.safetensors";
  // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 2^-24 = 0x0001, +inf = 0x7c00
  const std::vector<std::uint16_t> halves{0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3555};
  // BF16: 1.0 = 0x3f80, -0.5 = 0xbf00, 3.140625 = 0x4049
  const std::vector<std::uint16_t> bf{0x3f80, 0xbf00, 0x4049};
  const std::vector<double> doubles{0.1, -1e10};
  std::string data;
  for (auto h : halves) data += std::string{char(h & 0xff), char(h >> 8)};
  const auto bf_begin = data.size();
  for (auto h : bf) data += std::string{char(h & 0xff), char(h >> 8)};
  const auto d_begin = data.size();
  std::string dbytes(16, '\0');
  std::memcpy(dbytes.data(), doubles.data(), 16);
  data += dbytes;
  const std::string header =
      R"({"__metadata__":{"k":"v"},"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},)"
      R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[)" + std::to_string(bf_begin) + "," + std::to_string(d_begin) +
      R"(]},"d":{"dtype":"F64","shape":[2],"data_offsets":[)" + std::to_string(d_begin) + "," + std::to_string(data.size()) +
      "]}}      ";  // trailing spaces, as the reference writer pads
  write_raw(file, header, data);

  safetensors_file f(file);
  CHECK(f.metadata().at("k") == "v");
  const auto h = f.read_float("h");
  REQUIRE(h.size() == 6);
  CHECK(h[0] == 1.0f);
  CHECK(h[1] == -2.0f);
  CHECK(h[2] == 65504.0f);
  CHECK(h[3] == std::ldexp(1.0f, -24));
  CHECK(std::isinf(h[4]));
  CHECK(h[5] == Approx(1.0 / 3.0).epsilon(1e-3));
  CHECK(f.read_float("b") == std::vector<float>{1.0f, -0.5f, 3.140625f});
  CHECK(f.read_float("d") == std::vector<float>{0.1f, -1e10f});
  CHECK(f.tensors().front().name == "h");  // listed by offset
}

TEST_CASE("safetensors: corrupt files are input_errors naming the file and tensor", "[safetensors]") {
  temp_dir dir;
  const fs::path file = dir.path / "bad.safetensors";
  const std::string data16 = floats_le({1, 2, 3, 4});
  auto open = [&] { safetensors_file f(file); };

  SECTION("shorter than the length field") {
    std::ofstream(file, std::ios::binary) << "abc";
    expect_error(open, {file.string(), "shorter"});
  }
  SECTION("missing file") {
    expect_error([&] { safetensors_file f(dir.path / "nope.safetensors"); }, {"nope.safetensors"});
  }
  SECTION("header length beyond the file") {
    write_raw(file, R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", data16, 1'000'000);
    expect_error(open, {file.string(), "header length 1000000", "past the end"});
  }
  SECTION("header length of 2^64-1 (no overflow, no huge allocation)") {
    write_raw(file, "{}", "", std::numeric_limits<std::uint64_t>::max());
    expect_error(open, {file.string(), "past the end"});
  }
  SECTION("bad JSON") {
    write_raw(file, R"({"a":{"dtype":"F32",)", "");
    expect_error(open, {file.string(), "not valid JSON"});
  }
  SECTION("header is JSON but not an object") {
    write_raw(file, "[1, 2]", "");
    expect_error(open, {file.string(), "not a JSON object"});
  }
  SECTION("unknown dtype") {
    write_raw(file, R"({"a":{"dtype":"F24","shape":[4],"data_offsets":[0,16]}})", data16);
    expect_error(open, {file.string(), "'a'", "unknown dtype \"F24\""});
  }
  SECTION("missing shape") {
    write_raw(file, R"({"a":{"dtype":"F32","data_offsets":[0,16]}})", data16);
    expect_error(open, {"'a'", "shape"});
  }
  SECTION("negative dimension") {
    write_raw(file, R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", data16);
    expect_error(open, {"'a'", "non-negative"});
  }
  SECTION("offsets out of range (truncated file)") {
    write_raw(file, R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", data16);
    expect_error(open, {file.string(), "'a'", "past the data section"});
  }
  SECTION("reversed offsets") {
    write_raw(file, R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}})", data16);
    expect_error(open, {"'a'", "reversed"});
  }
  SECTION("offsets not a pair") {
    write_raw(file, R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0]}})", data16);
    expect_error(open, {"'a'", "data_offsets"});
  }
  SECTION("shape × dtype size differs from the byte range") {
    write_raw(file, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", data16);
    expect_error(open, {file.string(), "'a'", "needs 12 bytes", "cover 16"});
  }
  SECTION("F16 shape against F32-sized range") {
    write_raw(file, R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}})", data16);
    expect_error(open, {"'a'", "needs 8 bytes"});
  }
  SECTION("overlapping tensors") {
    write_raw(file,
              R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
              data16);
    expect_error(open, {file.string(), "'b' overlaps tensor 'a'"});
  }
  SECTION("hole between tensors") {
    write_raw(file,
              R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
              data16);
    expect_error(open, {file.string(), "hole of 4 bytes before tensor 'b'"});
  }
  SECTION("bytes after the last tensor") {
    write_raw(file, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})", data16);
    expect_error(open, {file.string(), "4 bytes after the last tensor"});
  }
  SECTION("metadata that is not string → string") {
    write_raw(file, R"({"__metadata__":{"n":3},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", data16);
    expect_error(open, {file.string(), "__metadata__", "'n'"});
  }
  SECTION("shape whose element count overflows") {
    write_raw(file,
              R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}})", data16);
    expect_error(open, {"'a'", "too large"});
  }
  SECTION("integer tensor read as float") {
    write_raw(file, R"({"a":{"dtype":"I32","shape":[4],"data_offsets":[0,16]}})", data16);
    safetensors_file f(file);
    CHECK(f.read_bytes("a").size() == 16);
    expect_error([&] { (void)f.read_float("a"); }, {file.string(), "'a'", "I32"});
  }
}
