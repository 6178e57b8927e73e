// The procedural demo image set, PNG input/output and text labels.
#include <catch2/catch.hpp>

#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/io/png.hpp>
#include <actatlas/io/remove_tree.hpp>
#include <actatlas/io/text.hpp>

#include <array>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <unistd.h>

namespace demo = actatlas::demo;
namespace fs = std::filesystem;

namespace {

fs::path scratch_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("actatlas-demo-test-" + name + "-" + std::to_string(::getpid()));
  actatlas::io::remove_tree(dir);
  fs::create_directories(dir);
  return dir;
}

//! Mean colour of the pixels in rows [y0, y1) of an image.
std::array<double, 3> mean_rows(const actatlas::io::image_u8& img, int y0, int y1) {
  std::array<double, 3> sum{};
  for (int y = y0; y < y1; ++y)
    for (int x = 0; x < img.width; ++x)
      for (int c = 0; c < 3; ++c) sum[c] += img.pixels[(static_cast<std::size_t>(y) * img.width + x) * 3 + c];
  for (auto& s : sum) s /= static_cast<double>((y1 - y0) * img.width);
  return sum;
}

//! Mean over `n` images of the mean colour of their bottom 4 rows (the least covered by objects).
std::array<double, 3> mean_bottom(std::string_view cls, int n) {
  std::array<double, 3> total{};
  for (int i = 0; i < n; ++i) {
    const auto img = demo::generate(demo::class_index(cls), 3, static_cast<std::uint64_t>(i));
    const auto m = mean_rows(img, img.height - 4, img.height);
    for (int c = 0; c < 3; ++c) total[c] += m[c] / n;
  }
  return total;
}

double distance(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
}

}  // namespace

TEST_CASE("demo images are fixed by their seed and vary with seed and index", "[demo-images]") {
  for (std::size_t c = 0; c < demo::class_count(); ++c) {
    const auto a = demo::generate(c, 5, 0), b = demo::generate(c, 5, 0);
    REQUIRE(a.width == 64);
    REQUIRE(a.height == 64);
    REQUIRE(a.channels == 3);
    CHECK(a.pixels == b.pixels);
    CHECK(a.pixels != demo::generate(c, 5, 1).pixels);
    CHECK(a.pixels != demo::generate(c, 6, 0).pixels);
  }
}

TEST_CASE("every demo class is its own picture and has a name and a description", "[demo-images]") {
  std::set<std::string> names;
  std::set<std::vector<std::uint8_t>> pictures;
  for (std::size_t c = 0; c < demo::class_count(); ++c) {
    const auto& cls = demo::image_classes[c];
    names.emplace(cls.name);
    CHECK(!cls.description.empty());
    CHECK(demo::class_index(cls.name) == c);
    const auto img = demo::generate(c, 1, 0);
    pictures.insert(img.pixels);
    // Not a flat image: some real content (standard deviation of the grey level).
    double sum = 0, sum2 = 0;
    for (std::size_t k = 0; k < img.pixels.size(); ++k) sum += img.pixels[k], sum2 += double(img.pixels[k]) * img.pixels[k];
    const double n = static_cast<double>(img.pixels.size());
    CHECK(std::sqrt(sum2 / n - (sum / n) * (sum / n)) > 10.0);
  }
  CHECK(names.size() == demo::class_count());
  CHECK(pictures.size() == demo::class_count());
  CHECK(demo::class_count() >= 12);
  CHECK_THROWS_AS(demo::class_index("unicorn"), actatlas::input_error);
  CHECK_THROWS_AS(demo::generate(demo::class_count(), 1, 0), actatlas::input_error);
}

TEST_CASE("classes that share a background really share it", "[demo-images]") {
  // The bottom rows are background in most images; their mean colour is the background's.
  const auto fish = mean_bottom("fish", 24), lifebuoy = mean_bottom("lifebuoy", 24), boat = mean_bottom("boat", 24);
  const auto ball = mean_bottom("ball", 24), flower = mean_bottom("flower", 24), zebra = mean_bottom("zebra", 24);
  const auto sun = mean_bottom("sun", 24), kite = mean_bottom("kite", 24);
  const auto night = mean_bottom("night", 24), sand = mean_bottom("starfish", 24);
  INFO("water " << fish[0] << "," << fish[1] << "," << fish[2] << " grass " << ball[0] << "," << ball[1] << "," << ball[2]);
  // Same background: close; different backgrounds: far apart.
  CHECK(distance(fish, lifebuoy) < 15);
  CHECK(distance(fish, boat) < 20);
  CHECK(distance(ball, flower) < 20);
  CHECK(distance(ball, zebra) < 20);
  CHECK(distance(fish, ball) > 60);
  CHECK(distance(fish, night) > 60);
  CHECK(distance(ball, sand) > 60);
  CHECK(distance(fish, sand) > 60);
  // Water is blue, grass is green, the night is dark.
  CHECK(fish[2] > fish[0] + 40);
  CHECK(ball[1] > ball[0] + 20);
  CHECK(ball[1] > ball[2] + 20);
  CHECK(night[0] + night[1] + night[2] < 3 * 80);
  // Sun and kite share the sky (its bottom rows are the light end of the gradient).
  const auto sky_top = [](std::string_view cls) {
    std::array<double, 3> total{};
    for (int i = 0; i < 24; ++i) {
      const auto m = mean_rows(demo::generate(demo::class_index(cls), 3, static_cast<std::uint64_t>(i)), 0, 2);
      for (int c = 0; c < 3; ++c) total[c] += m[c] / 24;
    }
    return total;
  };
  CHECK(distance(sky_top("sun"), sky_top("kite")) < 20);
  CHECK(distance(sun, kite) < 25);
}

TEST_CASE("demo images scale to other sizes", "[demo-images]") {
  const auto big = demo::generate(demo::class_index("boat"), 2, 0, 128);
  CHECK(big.width == 128);
  CHECK(big.pixels.size() == 128u * 128u * 3u);
  CHECK_THROWS_AS(demo::generate(0, 1, 0, 8), actatlas::input_error);
}

TEST_CASE("PNG write then read gives the same pixels, and writing is atomic", "[demo-images]") {
  const auto dir = scratch_dir("png");
  const auto img = demo::generate(demo::class_index("checks"), 9, 4);
  actatlas::io::write_png(dir / "sub" / "checks.png", img);
  const auto back = actatlas::io::read_png(dir / "sub" / "checks.png");
  CHECK(back.width == img.width);
  CHECK(back.height == img.height);
  CHECK(back.pixels == img.pixels);
  // Only the file itself remains: no temporary sibling.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "sub")) ++files;
  CHECK(files == 1);
  // RGBA round trip.
  std::vector<std::uint8_t> rgba(8 * 4 * 4);
  for (std::size_t k = 0; k < rgba.size(); ++k) rgba[k] = static_cast<std::uint8_t>(k * 7);
  actatlas::io::write_png(dir / "rgba.png", rgba.data(), 8, 4, 4);
  CHECK(actatlas::io::read_image(dir / "rgba.png", 4).pixels == rgba);
  // Bad input names the file.
  CHECK_THROWS_WITH(actatlas::io::read_png(dir / "missing.png"), Catch::Contains("missing.png"));
  CHECK_THROWS_AS(actatlas::io::write_png(dir / "x.png", rgba.data(), 8, 4, 2), actatlas::input_error);
  actatlas::io::remove_tree(dir);
}

TEST_CASE("write_folder writes class-named subfolders of PNGs", "[demo-images]") {
  const auto dir = scratch_dir("folder");
  demo::write_folder(dir, 2, 11);
  std::size_t folders = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    REQUIRE(e.is_directory());
    ++folders;
    CHECK_NOTHROW(demo::class_index(e.path().filename().string()));
  }
  CHECK(folders == demo::class_count());
  const auto back = actatlas::io::read_png(dir / "fish" / "fish_0001.png");
  CHECK(back.pixels == demo::generate(demo::class_index("fish"), 11, 1).pixels);
  actatlas::io::remove_tree(dir);
}

TEST_CASE("text labels draw pixels in the text colour, scaled and clipped", "[demo-images]") {
  const int w = 120, h = 40;
  std::vector<std::uint8_t> rgb(w * h * 3, 255);
  const auto written = actatlas::io::draw_text(rgb.data(), w, h, 3, 2, 2, "boat", {200, 10, 10}, 1);
  CHECK(written > 20);
  std::size_t red = 0;
  for (std::size_t k = 0; k < rgb.size(); k += 3) red += (rgb[k] == 200 && rgb[k + 1] == 10 && rgb[k + 2] == 10);
  // Every pixel drawn has the colour (quads may overlap, so some are counted twice).
  CHECK(red > 20);
  CHECK(red <= written);
  // Scale 2 covers four times the pixels, and the width doubles.
  std::vector<std::uint8_t> big(w * h * 3, 255);
  CHECK(actatlas::io::draw_text(big.data(), w, h, 3, 2, 2, "boat", {0, 0, 0}, 2) == 4 * written);
  CHECK(actatlas::io::text_width("boat", 2) == 2 * actatlas::io::text_width("boat", 1));
  // Text entirely outside draws nothing.
  CHECK(actatlas::io::draw_text(big.data(), w, h, 3, 500, 500, "boat") == 0);
}

TEST_CASE("the contact sheet shows every class with its label", "[demo-images]") {
  const auto sheet = demo::contact_sheet(3, 1, 64, 1);
  CHECK(sheet.height == static_cast<int>(demo::class_count()) * (64 + 4) + 4);
  // The first example of the first row is exactly image 0 of class 0.
  const auto first = demo::generate(0, 1, 0);
  const int left = sheet.width - 4 - 3 * (64 + 4);
  std::size_t same = 0;
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64 * 3; ++x)
      same += sheet.pixels[(static_cast<std::size_t>(4 + y) * sheet.width + left) * 3 + x] == first.pixels[static_cast<std::size_t>(y) * 64 * 3 + x];
  CHECK(same == 64u * 64u * 3u);
  // The label column has dark text pixels.
  std::size_t dark = 0;
  for (int y = 0; y < sheet.height; ++y)
    for (int x = 0; x < left - 4; ++x) dark += sheet.pixels[(static_cast<std::size_t>(y) * sheet.width + x) * 3] < 50;
  CHECK(dark > 200);
}
