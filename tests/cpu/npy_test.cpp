// .npy reading, writing, memory mapping and streaming, and the one-line errors for bad files.
#include <catch2/catch.hpp>

#include <actatlas/io/npy.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "test_tools.hpp"

namespace fs = std::filesystem;
using namespace actatlas;

namespace {
void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
}  // namespace

TEST_CASE("npy round trip for float32, int32 and int64", "[npy]") {
  test::temp_dir dir;
  xt::xtensor<float, 2> f = {{1.5f, -2.f, 3.f}, {4.f, 5.25f, -6.f}};
  io::write_npy(dir / "f.npy", f);
  CHECK((io::read_npy<float, 2>(dir / "f.npy") == f));

  xt::xtensor<std::int32_t, 1> i = {7, -8, 9};
  io::write_npy(dir / "i.npy", i);
  CHECK((io::read_npy<std::int32_t, 1>(dir / "i.npy") == i));

  xt::xtensor<std::int64_t, 2> l = {{1LL << 40, -3}, {5, 6}};
  io::write_npy(dir / "l.npy", l);
  CHECK((io::read_npy<std::int64_t, 2>(dir / "l.npy") == l));

  // The header is numpy's: magic, version 1.0, data aligned to 64 bytes.
  const auto bytes = read_bytes(dir / "f.npy");
  CHECK(bytes.substr(0, 6) == "\x93NUMPY");
  CHECK(bytes.size() % 64 == (2 * 3 * 4) % 64);
  CHECK(bytes.find("'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") != std::string::npos);
}

TEST_CASE("npy files written by numpy's conventions parse, including 1-element shapes", "[npy]") {
  test::temp_dir dir;
  xt::xtensor<float, 1> one = {42.f};
  io::write_npy(dir / "one.npy", one);
  CHECK(read_bytes(dir / "one.npy").find("'shape': (1, )") != std::string::npos);
  CHECK(io::read_npy<float, 1>(dir / "one.npy")(0) == 42.f);
}

TEST_CASE("bad npy files are one clear error naming the file", "[npy]") {
  test::temp_dir dir;
  xt::xtensor<float, 2> f = {{1.f, 2.f}, {3.f, 4.f}};
  const auto good = dir / "good.npy";
  io::write_npy(good, f);
  const std::string bytes = read_bytes(good);

  SECTION("wrong dtype") {
    CHECK_THROWS_WITH((io::read_npy<std::int32_t, 2>(good)), Catch::Contains(good.string()) && Catch::Contains("dtype is float32, expected int32"));
  }
  SECTION("wrong rank") {
    CHECK_THROWS_WITH((io::read_npy<float, 1>(good)), Catch::Contains("rank 2, expected 1"));
  }
  SECTION("fortran order") {
    auto b = bytes;
    b.replace(b.find("False"), 5, "True ");
    write_bytes(dir / "fortran.npy", b);
    CHECK_THROWS_WITH((io::read_npy<float, 2>(dir / "fortran.npy")), Catch::Contains("fortran.npy") && Catch::Contains("Fortran order"));
  }
  SECTION("truncated") {
    write_bytes(dir / "short.npy", bytes.substr(0, bytes.size() - 3));
    CHECK_THROWS_WITH((io::read_npy<float, 2>(dir / "short.npy")), Catch::Contains("short.npy") && Catch::Contains("truncated"));
    CHECK_THROWS_WITH(io::mapped_npy(dir / "short.npy"), Catch::Contains("truncated"));
  }
  SECTION("truncated header") {
    write_bytes(dir / "head.npy", bytes.substr(0, 20));
    CHECK_THROWS_WITH((io::read_npy<float, 2>(dir / "head.npy")), Catch::Contains("head.npy") && Catch::Contains("truncated"));
  }
  SECTION("not npy at all") {
    write_bytes(dir / "text.npy", "hello, this is text and not an array");
    CHECK_THROWS_WITH((io::read_npy<float, 2>(dir / "text.npy")), Catch::Contains("text.npy") && Catch::Contains("bad magic"));
  }
  SECTION("missing file") {
    CHECK_THROWS_WITH((io::read_npy<float, 2>(dir / "absent.npy")), Catch::Contains("absent.npy") && Catch::Contains("cannot open"));
  }
  SECTION("non-finite values") {
    xt::xtensor<float, 2> bad = {{1.f, std::numeric_limits<float>::quiet_NaN()}, {3.f, 4.f}};
    io::write_npy(dir / "nan.npy", bad);
    CHECK_THROWS_WITH((io::read_npy<float, 2>(dir / "nan.npy")), Catch::Contains("nan.npy") && Catch::Contains("non-finite value") && Catch::Contains("element 1"));
    bad(1, 1) = std::numeric_limits<float>::infinity();
    bad(0, 1) = 0.f;
    io::write_npy(dir / "inf.npy", bad);
    CHECK_THROWS_WITH(io::mapped_npy(dir / "inf.npy"), Catch::Contains("non-finite value") && Catch::Contains("element 3"));
  }
}

TEST_CASE("mapped_npy views the file without copying", "[npy]") {
  test::temp_dir dir;
  xt::xtensor<float, 2> f = xt::arange<float>(12).reshape({4, 3});
  io::write_npy(dir / "m.npy", f);
  io::mapped_npy m(dir / "m.npy");
  REQUIRE(m.view().rows() == 4);
  REQUIRE(m.view().cols() == 3);
  CHECK(m.view()(2, 1) == 7.f);
  CHECK(m.view().row(3)[2] == 11.f);
  CHECK((m.view().to_matrix() == f));
}

TEST_CASE("npy_writer streams rows and appears only when closed", "[npy]") {
  test::temp_dir dir;
  const auto path = dir / "stream.npy";
  {
    io::npy_writer<float> w(path, 2);
    const float a[] = {1, 2, 3, 4};
    w.append(a, 2);
    CHECK_FALSE(fs::exists(path));
  }  // destroyed without close: nothing under the real name, no temporary left behind
  CHECK_FALSE(fs::exists(path));
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}) == 0);

  io::npy_writer<float> w(path, 2);
  for (int i = 0; i < 1000; ++i) {
    const float row[] = {static_cast<float>(i), static_cast<float>(-i)};
    w.append(row, 1);
  }
  w.close();
  const auto back = io::read_npy<float, 2>(path);
  REQUIRE(back.shape(0) == 1000);
  CHECK(back(999, 1) == -999.f);
}

TEST_CASE("atomic_write leaves the old file when writing fails", "[npy]") {
  test::temp_dir dir;
  const auto path = dir / "keep.txt";
  io::atomic_write(path, [](std::ostream& out) { out << "complete"; });
  CHECK_THROWS(io::atomic_write(path, [](std::ostream& out) {
    out << "half";
    throw std::runtime_error("interrupted");
  }));
  CHECK(read_bytes(path) == "complete");
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}) == 1);
}
