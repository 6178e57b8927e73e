// Streaming collection: the result equals a direct computation, and a collection that is
// interrupted and resumed is byte-identical to one that ran straight through. Also the
// process group a job of several ranks collects with (torch/process_group.hpp); the job
// itself is tested end to end by tests/cli/distributed_job.py.
#include <catch2/catch.hpp>

#include <actatlas/io/npy.hpp>
#include <actatlas/sampler/all_positions.hpp>
#include <actatlas/sampler/random_position.hpp>
#include <actatlas/torch/collect.hpp>
#include <actatlas/torch/load_model.hpp>
#include <actatlas/torch/process_group.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include "model_fixtures.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<std::string> lines(const fs::path& p) {
  std::istringstream in(slurp(p));
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

struct interrupted : std::runtime_error {
  interrupted() : std::runtime_error("killed") {}
};

}  // namespace

TEST_CASE("collect: rows equal the model's activations and attributions at the sampled positions", "[collect]") {
  const auto dir = fixtures::scratch("collect-values");
  fixtures::image_folder(dir / "images", 9);
  fixtures::write_bytes(dir / "images" / "broken.png", "not a png");
  auto model = actatlas::load_model(fixtures::save_tiny_net(dir / "tiny.pt", 21), torch::kCPU);
  const actatlas::sampler::random_position sampler({.seed = 9});
  const auto summary = actatlas::collect(*model, dir / "images", dir / "run", sampler,
                                         {.layer = "block2", .batch = 4, .shard_batches = 1, .decode_threads = 2});
  REQUIRE(summary.samples == 9);
  REQUIRE(summary.visits == 10);
  REQUIRE(summary.skipped.size() == 1);
  REQUIRE(summary.skipped[0].path.filename() == "broken.png");
  REQUIRE_FALSE(fs::exists(dir / "run" / "shards"));

  const auto acts = actatlas::io::read_npy<float, 2>(dir / "run" / "activations.npy");
  const auto attr = actatlas::io::read_npy<float, 2>(dir / "run" / "attributions.npy");
  REQUIRE(acts.shape(0) == 9);
  REQUIRE(acts.shape(1) == 6);
  REQUIRE(attr.shape(1) == 7);
  const auto prov = lines(dir / "run" / "provenance.csv");
  REQUIRE(prov.size() == 10);
  REQUIRE(prov[0] == "image,x,y");

  // Recompute each row directly from its image file and position.
  const auto files = actatlas::io::list_images(dir / "images");
  std::size_t row = 0;
  for (std::size_t v = 0; v < files.size(); ++v) {
    if (files[v].filename() == "broken.png") continue;
    const auto p = sampler.positions(v, 8, 8).at(0);
    REQUIRE(prov[row + 1] == files[v].string() + "," + std::to_string(p.x) + "," + std::to_string(p.y));
    REQUIRE(p.y >= 1);
    REQUIRE(p.y <= 6);
    auto img = std::get<actatlas::io::image_planes>(actatlas::io::load_image(files[v], 16, 16));
    const auto x = torch::from_blob(img.pixels.data(), {1, 3, 16, 16}).clone();
    const auto ref = actatlas::sample_layer(*model, x, "block2", {{0, p}}, true);
    for (int d = 0; d < 6; ++d) REQUIRE(acts(row, d) == Approx(ref.activations[0][d].item<float>()).margin(1e-5));
    for (int c = 0; c < 7; ++c) REQUIRE(attr(row, c) == Approx(ref.attributions[0][c].item<float>()).margin(1e-5));
    ++row;
  }
  REQUIRE(row == 9);

  // Running again on the finished folder does nothing and reports the same.
  const auto again = actatlas::collect(*model, dir / "images", dir / "run", sampler, {.layer = "block2", .batch = 4, .shard_batches = 1});
  REQUIRE(again.already_complete);
  REQUIRE(again.samples == 9);
  REQUIRE(again.report.reused);
  // A different collection in the same folder replaces it, saying what differs.
  const auto other = actatlas::collect(*model, dir / "images", dir / "run", sampler, {.layer = "block1", .batch = 4, .shard_batches = 1});
  REQUIRE_FALSE(other.already_complete);
  REQUIRE_FALSE(other.report.reused);
  REQUIRE(other.report.why.find("layer was \"block2\", now \"block1\"") != std::string::npos);
  REQUIRE(other.samples == 9);
  REQUIRE(actatlas::io::read_npy<float, 2>(dir / "run" / "activations.npy").shape(1) != acts.shape(1));
}

TEST_CASE("collect: killed mid-way and resumed, no duplicates or holes", "[collect]") {
  const auto dir = fixtures::scratch("collect-resume");
  fixtures::image_folder(dir / "images", 13);
  fixtures::write_bytes(dir / "images" / "a" / "zero.jpg", "");
  auto model = actatlas::load_model(fixtures::save_tiny_net(dir / "tiny.pt", 22), torch::kCPU);
  const actatlas::sampler::random_position sampler({.seed = 5});
  // 40 samples from 14 files (13 decodable): the images are visited three times, new positions each time.
  const actatlas::collect_options base{.layer = "block1", .samples = 40, .repeat_images = true, .batch = 3, .shard_batches = 2};

  const auto straight = actatlas::collect(*model, dir / "images", dir / "straight", sampler, base);
  REQUIRE(straight.samples == 40);

  // Kill after 5 batches (in the middle of the third shard), twice, then finish.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::size_t calls = 0;
    const actatlas::progress_fn kill = [&](std::string_view, std::size_t, std::size_t) {
      if (++calls == 6) throw interrupted();  // the first call reports the starting point
    };
    REQUIRE_THROWS_AS(actatlas::collect(*model, dir / "images", dir / "resumed", sampler, base, kill), interrupted);
    REQUIRE(fs::exists(dir / "resumed" / "shards" / "000000.json"));
    REQUIRE_FALSE(fs::exists(dir / "resumed" / "activations.npy"));
  }
  // A half-written shard from a real kill: data without a manifest, and a temporary.
  fixtures::write_bytes(dir / "resumed" / "shards" / "000099.activations.npy", "partial");
  fixtures::write_bytes(dir / "resumed" / "shards" / "000042.provenance.csv.tmp-1-1", "partial");
  const auto resumed = actatlas::collect(*model, dir / "images", dir / "resumed", sampler, base);
  REQUIRE(resumed.resumed_samples > 0);
  REQUIRE(resumed.report.why.rfind("resuming after ", 0) == 0);
  REQUIRE(resumed.samples == 40);
  for (const char* name : {"activations.npy", "attributions.npy", "provenance.csv"})
    REQUIRE(slurp(dir / "straight" / name) == slurp(dir / "resumed" / name));
  REQUIRE(straight.skipped.size() == 1);
  REQUIRE(resumed.skipped.size() == 1);

  // Provenance: every (image, position) pair at most once by construction of the visits,
  // and the second pass over an image draws new positions.
  const auto prov = lines(dir / "resumed" / "provenance.csv");
  REQUIRE(prov.size() == 41);
  REQUIRE(prov[1] != prov[14]);
}

TEST_CASE("collect: all positions, without attribution", "[collect]") {
  const auto dir = fixtures::scratch("collect-all");
  fixtures::image_folder(dir / "images", 3);
  auto model = actatlas::load_model(fixtures::save_tiny_net(dir / "tiny.pt", 23), torch::kCPU);
  const auto summary = actatlas::collect(*model, dir / "images", dir / "run", actatlas::sampler::all_positions({.margin = 1}),
                                         {.layer = "block2", .batch = 2, .attribution = false, .keep_shards = true});
  REQUIRE(summary.samples == 3 * 36);
  REQUIRE(fs::exists(dir / "run" / "shards" / "000000.json"));
  REQUIRE_FALSE(fs::exists(dir / "run" / "attributions.npy"));
  const auto acts = actatlas::io::read_npy<float, 2>(dir / "run" / "activations.npy");
  REQUIRE(acts.shape(0) == 108);
  const auto prov = lines(dir / "run" / "provenance.csv");
  REQUIRE(prov[1].substr(prov[1].size() - 4) == ",1,1");
  REQUIRE(prov[36].substr(prov[36].size() - 4) == ",6,6");
  // tanh layer: values in [-1, 1], and not all equal.
  REQUIRE(xt::amax(xt::abs(acts))() <= 1.0f);
  REQUIRE(xt::amax(acts)() > xt::amin(acts)());
}

TEST_CASE("collect: shards committed after a hole are kept, the hole is made again", "[collect]") {
  // A job of several ranks killed mid-way leaves committed shards with holes between them.
  const auto dir = fixtures::scratch("collect-holes");
  fixtures::image_folder(dir / "images", 11);
  auto model = actatlas::load_model(fixtures::save_tiny_net(dir / "tiny.pt", 23), torch::kCPU);
  const actatlas::sampler::random_position sampler({.seed = 7});
  const actatlas::collect_options base{.layer = "block1", .batch = 2, .shard_batches = 1, .keep_shards = true};
  const auto straight = actatlas::collect(*model, dir / "images", dir / "straight", sampler, base);
  REQUIRE(straight.samples == 11);

  // The same folder as a killed job would leave it: shard 1 lost its manifest, shard 3 is
  // gone, the others are committed; collection.json not yet complete.
  fs::copy(dir / "straight", dir / "holes", fs::copy_options::recursive);
  for (const char* name : {"activations.npy", "attributions.npy", "provenance.csv"}) fs::remove(dir / "holes" / name);
  auto record = nlohmann::json::parse(slurp(dir / "holes" / "collection.json"));
  record.erase("complete");
  record.erase("result");
  std::ofstream(dir / "holes" / "collection.json") << record.dump(2);
  const auto shards = dir / "holes" / "shards";
  fs::remove(shards / "000001.json");
  for (const char* suffix : {".json", ".activations.npy", ".attributions.npy", ".provenance.csv"})
    fs::remove(shards / (std::string("000003") + suffix));
  // Kept shards keep their files: an old time stamp survives only if nothing rewrites them.
  const auto old_time = fs::last_write_time(shards / "000004.activations.npy") - std::chrono::hours(24);
  fs::last_write_time(shards / "000004.activations.npy", old_time);

  const auto resumed = actatlas::collect(*model, dir / "images", dir / "holes", sampler, base);
  REQUIRE(resumed.samples == 11);
  REQUIRE(resumed.resumed_samples == 11 - 2 - 2);  // shards 1 and 3 held two samples each
  REQUIRE(fs::last_write_time(shards / "000004.activations.npy") == old_time);
  REQUIRE(fs::exists(shards / "000003.json"));
  for (const char* name : {"activations.npy", "attributions.npy", "provenance.csv"})
    REQUIRE(slurp(dir / "straight" / name) == slurp(dir / "holes" / name));
}

TEST_CASE("process_group: the job named by torch.distributed's variables", "[distributed]") {
  std::map<std::string, std::string> vars;
  const auto get = [&](const char* name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  // No job, or a job of one: alone.
  REQUIRE_FALSE(actatlas::rank_environment_from_variables(get));
  vars = {{"WORLD_SIZE", "1"}, {"RANK", "0"}};
  REQUIRE_FALSE(actatlas::rank_environment_from_variables(get));
  // torchrun's variables.
  vars = {{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
          {"MASTER_ADDR", "node0"}, {"MASTER_PORT", "29500"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
          {"TORCHELASTIC_RESTART_COUNT", "2"}};
  const auto e = actatlas::rank_environment_from_variables(get);
  REQUIRE(e);
  CHECK(e->rank == 3);
  CHECK(e->world_size == 4);
  CHECK(e->local_rank == 1);
  CHECK(e->local_world_size == 2);
  CHECK(e->master_addr == "node0");
  CHECK(e->master_port == 29500);
  CHECK(e->agent_store);
  CHECK(e->restart == 2);
  // An incomplete or inconsistent job is one line naming the variable.
  vars = {{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "29500"}};
  REQUIRE_THROWS_WITH(actatlas::rank_environment_from_variables(get), Contains("MASTER_ADDR"));
  vars = {{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}};
  REQUIRE_THROWS_WITH(actatlas::rank_environment_from_variables(get), Contains("RANK: must be a whole number from 0 to 1"));
  vars = {{"RANK", "0"}};
  REQUIRE_THROWS_WITH(actatlas::rank_environment_from_variables(get), Contains("WORLD_SIZE"));
}

TEST_CASE("process_group: two ranks (threads) meet at barriers, gather and count", "[distributed]") {
  int port = 0;
  {
    // A free port: bind to 0 and read what the kernel chose.
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t n = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
    port = ntohs(a.sin_port);
    ::close(s);
  }
  std::vector<std::vector<std::int64_t>> gathered(2);
  std::vector<std::int64_t> counted(2);
  std::vector<std::string> errors(2);
  auto rank = [&](int r) {
    try {
      actatlas::rank_environment e;
      e.rank = r;
      e.world_size = 2;
      e.master_addr = "127.0.0.1";
      e.master_port = static_cast<std::uint16_t>(port);
      auto g = actatlas::process_group::join(e, {.peer_timeout = std::chrono::seconds(20)});
      g->barrier();
      gathered[static_cast<std::size_t>(r)] = g->all_gather(100 + r);
      g->add("things", r + 1);
      g->barrier();
      counted[static_cast<std::size_t>(r)] = g->add("things", 0);
      g->finish();
    } catch (const std::exception& ex) {
      errors[static_cast<std::size_t>(r)] = ex.what();
    }
  };
  std::thread one(rank, 1);
  rank(0);
  one.join();
  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  for (int r = 0; r < 2; ++r) {
    CHECK(gathered[static_cast<std::size_t>(r)] == std::vector<std::int64_t>{100, 101});
    CHECK(counted[static_cast<std::size_t>(r)] == 3);
  }
}
