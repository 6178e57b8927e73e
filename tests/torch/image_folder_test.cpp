// Image folders: listing, decoding, resizing and cropping, and a folder full of bad files.
#include <catch2/catch.hpp>

#include <actatlas/io/image_folder.hpp>
#include <actatlas/torch/image_batches.hpp>

#include <set>

#include "model_fixtures.hpp"

namespace fs = std::filesystem;
namespace io = actatlas::io;

namespace {

// An 8×6 CMYK JPEG (Adobe APP14, as PIL writes it), colour C=0 M=128 Y=255 K=30.
const unsigned char cmyk_jpeg[] = {255,216,255,238,0,14,65,100,111,98,101,0,100,0,0,0,0,0,255,219,0,67,0,8,6,6,7,6,5,8,7,7,7,9,9,8,10,12,20,13,12,11,11,12,25,18,19,15,20,29,26,31,30,29,26,28,28,32,36,46,39,32,34,44,35,28,28,40,55,41,44,48,49,52,52,52,31,39,57,61,56,50,60,46,51,52,50,255,192,0,20,8,0,6,0,8,4,67,17,0,77,17,0,89,17,0,75,17,0,255,196,0,31,0,0,1,5,1,1,1,1,1,1,0,0,0,0,0,0,0,0,1,2,3,4,5,6,7,8,9,10,11,255,196,0,181,16,0,2,1,3,3,2,4,3,5,5,4,4,0,0,1,125,1,2,3,0,4,17,5,18,33,49,65,6,19,81,97,7,34,113,20,50,129,145,161,8,35,66,177,193,21,82,209,240,36,51,98,114,130,9,10,22,23,24,25,26,37,38,39,40,41,42,52,53,54,55,56,57,58,67,68,69,70,71,72,73,74,83,84,85,86,87,88,89,90,99,100,101,102,103,104,105,106,115,116,117,118,119,120,121,122,131,132,133,134,135,136,137,138,146,147,148,149,150,151,152,153,154,162,163,164,165,166,167,168,169,170,178,179,180,181,182,183,184,185,186,194,195,196,197,198,199,200,201,202,210,211,212,213,214,215,216,217,218,225,226,227,228,229,230,231,232,233,234,241,242,243,244,245,246,247,248,249,250,255,218,0,14,4,67,0,77,0,89,0,75,0,0,63,0,247,250,74,249,254,189,134,191,255,217};

io::image_planes decode(const fs::path& p, int h, int w) {
  auto r = io::load_image(p, h, w);
  REQUIRE(std::holds_alternative<io::image_planes>(r));
  return std::get<io::image_planes>(std::move(r));
}

}  // namespace

TEST_CASE("images: recursive listing, sorted, image extensions only", "[images]") {
  const auto dir = fixtures::scratch("images-list");
  const auto made = fixtures::image_folder(dir, 7);
  fixtures::write_bytes(dir / "readme.txt", "not an image");
  fixtures::write_png(dir / "b" / "UPPER.PNG", 4, 4, 1);
  const auto listed = io::list_images(dir);
  REQUIRE(listed.size() == 8);
  std::vector<std::string> rel;
  for (const auto& p : listed) rel.push_back(fs::relative(p, dir).generic_string());
  REQUIRE(std::is_sorted(rel.begin(), rel.end()));
  REQUIRE(rel.front() == "a/img000.png");
  REQUIRE(std::find(rel.begin(), rel.end(), "b/UPPER.PNG") != rel.end());
  REQUIRE(std::find(rel.begin(), rel.end(), "b/deeper/img004.png") != rel.end());
  REQUIRE_THROWS_AS(io::list_images(dir / "absent"), actatlas::input_error);
}

TEST_CASE("images: resize is area-correct when shrinking, crops the centre", "[images]") {
  // A 1-pixel checkerboard shrunk 4× is uniform grey (point sampling would alias to black or white).
  std::vector<std::uint8_t> board(64 * 64 * 3);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      for (int c = 0; c < 3; ++c) board[(y * 64 + x) * 3 + c] = ((x + y) % 2) ? 255 : 0;
  const auto small = io::resize_and_crop(board.data(), 64, 64, 16, 16);
  for (float v : small.pixels) REQUIRE(v == Approx(0.5f).margin(1e-5));

  // A non-integer factor (30 → 7) keeps the mean of a ramp.
  std::vector<std::uint8_t> ramp(30 * 30 * 3);
  double mean_in = 0;
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 30; ++x)
      for (int c = 0; c < 3; ++c) mean_in += ramp[(y * 30 + x) * 3 + c] = static_cast<std::uint8_t>(x * 8);
  const auto r7 = io::resize_and_crop(ramp.data(), 30, 30, 7, 7);
  double mean_out = 0;
  for (float v : r7.pixels) mean_out += v;
  REQUIRE(mean_out / r7.pixels.size() == Approx(mean_in / ramp.size() / 255.0).margin(1e-4));

  // 30 wide × 10 high, thirds red / green / blue: the 10×10 centre crop is all green.
  std::vector<std::uint8_t> flag(30 * 10 * 3, 0);
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 30; ++x) flag[(y * 30 + x) * 3 + x / 10] = 255;
  const auto crop = io::resize_and_crop(flag.data(), 10, 30, 10, 10);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(crop.pixels[i] == 0.0f);         // red plane
    REQUIRE(crop.pixels[100 + i] == 1.0f);   // green plane
    REQUIRE(crop.pixels[200 + i] == 0.0f);   // blue plane
  }

  // Enlarging bilinearly: a 2×1 black|white image becomes a monotone ramp.
  const std::uint8_t two[] = {0, 0, 0, 255, 255, 255};
  const auto big = io::resize_and_crop(two, 1, 2, 8, 16);
  REQUIRE(big.pixels[0] == 0.0f);
  REQUIRE(big.pixels[15] == 1.0f);
  for (int x = 1; x < 16; ++x) REQUIRE(big.pixels[x] >= big.pixels[x - 1]);
}

TEST_CASE("images: a folder of bad files is decoded without a crash, failures listed", "[images]") {
  const auto dir = fixtures::scratch("images-corrupt");
  fixtures::write_png(dir / "good1.png", 40, 30, 1);
  fixtures::write_jpg(dir / "good2.jpg", 64, 48, 2);
  // Truncated JPEG: only the first 60 bytes of a good one.
  fixtures::write_jpg(dir / "tmp.jpg", 64, 48, 3);
  {
    std::ifstream in(dir / "tmp.jpg", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    fixtures::write_bytes(dir / "truncated.jpg", bytes.substr(0, 60));
    fixtures::write_bytes(dir / "half.jpg", bytes.substr(0, bytes.size() / 2));
  }
  fs::remove(dir / "tmp.jpg");
  fixtures::write_bytes(dir / "text.png", "this is not a PNG\n");
  fixtures::write_bytes(dir / "zero.bmp", "");
  fixtures::write_png(dir / "tiny.png", 1, 1, 4);
  fixtures::write_png(dir / "grey.png", 12, 12, 5, 1);
  fixtures::write_png(dir / "alpha.png", 12, 12, 6, 4);
  fixtures::write_bytes(dir / "cmyk.jpg", std::string(reinterpret_cast<const char*>(cmyk_jpeg), sizeof cmyk_jpeg));

  const auto files = io::list_images(dir);
  REQUIRE(files.size() == 10);
  actatlas::image_batch_reader reader([&](std::uint64_t v) { return files[v]; }, 0, files.size(), 16, 16,
                                      {.batch = 4, .threads = 2});
  std::set<std::string> ok, failed;
  std::size_t rows = 0;
  while (auto b = reader.next()) {
    REQUIRE(b->pixels.size(0) == static_cast<std::int64_t>(b->visits.size()));
    rows += b->visits.size();
    for (const auto& p : b->paths) ok.insert(p.filename().string());
    for (const auto& f : b->failures) {
      failed.insert(f.path.filename().string());
      REQUIRE_FALSE(f.reason.empty());
    }
    if (b->pixels.numel() == 0) continue;  // a batch of bad files only
    REQUIRE(b->pixels.min().item<float>() >= 0.0f);
    REQUIRE(b->pixels.max().item<float>() <= 1.0f);
  }
  REQUIRE(rows == ok.size());
  REQUIRE(ok.size() + failed.size() == 10);
  for (const char* bad : {"truncated.jpg", "text.png", "zero.bmp"}) REQUIRE(failed.count(bad));
  for (const char* good : {"good1.png", "good2.jpg", "tiny.png", "grey.png", "alpha.png"}) REQUIRE(ok.count(good));
  // A half JPEG and a CMYK JPEG are either decoded or listed, never a crash; stb does decode both.
  REQUIRE(ok.count("cmyk.jpg"));

  // Grey becomes R = G = B; 1×1 becomes a constant image.
  const auto grey = decode(dir / "grey.png", 8, 8);
  for (int i = 0; i < 64; ++i) {
    REQUIRE(grey.pixels[i] == grey.pixels[64 + i]);
    REQUIRE(grey.pixels[i] == grey.pixels[128 + i]);
  }
  const auto tiny = decode(dir / "tiny.png", 8, 8);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 64; ++i) REQUIRE(tiny.pixels[c * 64 + i] == tiny.pixels[c * 64]);
  // CMYK (0, 128, 255, 30) is an orange: red high, blue nil.
  const auto cmyk = decode(dir / "cmyk.jpg", 6, 8);
  REQUIRE(cmyk.pixels[0] > 0.7f);
  REQUIRE(cmyk.pixels[0] > cmyk.pixels[48]);
  REQUIRE(cmyk.pixels[96] < 0.1f);
}

TEST_CASE("images: batches are the same whatever the number of decoding threads", "[images]") {
  const auto dir = fixtures::scratch("images-threads");
  fixtures::image_folder(dir, 11);
  const auto files = io::list_images(dir);
  auto read_all = [&](unsigned threads) {
    actatlas::image_batch_reader reader([&](std::uint64_t v) { return files[v % files.size()]; }, 3, 3 + 17, 12, 14,
                                        {.batch = 5, .threads = threads});
    std::vector<torch::Tensor> out;
    std::vector<std::uint64_t> visits;
    while (auto b = reader.next()) {
      out.push_back(b->pixels);
      visits.insert(visits.end(), b->visits.begin(), b->visits.end());
    }
    REQUIRE(reader.batches() == 4);
    return std::make_pair(torch::cat(out), visits);
  };
  const auto [one, v1] = read_all(1);
  const auto [three, v3] = read_all(3);
  REQUIRE(one.sizes() == torch::IntArrayRef{17, 3, 12, 14});
  REQUIRE(torch::equal(one, three));
  REQUIRE(v1 == v3);
  REQUIRE(v1.front() == 3);
  REQUIRE(v1.back() == 19);
}

TEST_CASE("images: the real photos of ../shared/realdata decode (skipped when absent)", "[images]") {
  const char* env = std::getenv("ACTATLAS_REALDATA");
  const fs::path root = env ? fs::path(env) : fs::path("/work/shared/realdata");
  if (!fs::is_directory(root / "images")) {
    WARN("SKIPPED: no real data at " << root.string());
    return;
  }
  const auto files = io::list_images(root / "images");
  REQUIRE(files.size() == 1000);
  REQUIRE(files.front().filename().string().rfind("n01440764", 0) == 0);  // class 0, tench
  actatlas::image_batch_reader reader([&](std::uint64_t v) { return files[v * 50]; }, 0, 20, 224, 224,
                                      {.batch = 10, .threads = 2});
  std::size_t decoded = 0;
  while (auto b = reader.next()) {
    REQUIRE(b->failures.empty());
    decoded += b->visits.size();
    // Photos: a spread of values in every channel, not a constant.
    REQUIRE((b->pixels.amax({0, 2, 3}) - b->pixels.amin({0, 2, 3})).min().item<float>() > 0.3f);
  }
  REQUIRE(decoded == 20);
}
