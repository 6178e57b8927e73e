/// @file torch/collect.hpp
/// Streaming collection of an activation set: images → model → sampled positions of one
/// layer → activations (N×D), attributions to every class (N×C) and provenance (image,
/// x, y), written to disk in shards as they are made. Memory does not grow with N.
///
/// Run folder layout (docs/models.md has the full story):
///
///     collection.json                 what is being collected (checked on resume) and, when
///                                     finished, "complete": true, the counts and skipped files
///     shards/000000.activations.npy   rows of shard 0 (float32, N_0×D)
///     shards/000000.attributions.npy  (float32, N_0×C; absent without attribution)
///     shards/000000.provenance.csv    image,x,y per row
///     shards/000000.json              the shard's manifest, written last: the commit
///     activations.npy attributions.npy provenance.csv   the merged result, at the end
///
/// Resume protocol: shard k always covers visits [k·V, (k+1)·V) (V = batch × shard_batches,
/// a visit = one look at one image; the sampler's positions are a pure function of the
/// visit number), so the samples of a shard do not depend on when it was made. A shard
/// counts only once its manifest exists; the manifest is renamed into place after its
/// data files are. On start, the longest run of committed shards 0..k-1 is kept, anything
/// else in shards/ (a half-written shard, temporaries of a killed process) is removed,
/// and collection continues at visit k·V: no duplicates, no holes.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../concepts/sampler.hpp"
#include "../error.hpp"
#include "../io/atomic_file.hpp"
#include "../io/folder_lock.hpp"
#include "../io/image_folder.hpp"
#include "../io/interrupt.hpp"
#include "../io/npy.hpp"
#include "../io/provenance_csv.hpp"
#include "../io/remove_tree.hpp"
#include "../progress.hpp"
#include "../stage_options.hpp"
#include "../stage_record.hpp"
#include "attribution.hpp"
#include "classifier.hpp"
#include "detail/check_layers.hpp"
#include "image_batches.hpp"
#include "process_group.hpp"

namespace actatlas {

//! What a collection did.
struct collect_summary {
  std::uint64_t samples = 0;                //!< rows in the result
  std::uint64_t visits = 0;                 //!< image visits made (across all runs)
  std::uint64_t resumed_samples = 0;        //!< rows found already committed when this run started
  bool already_complete = false;            //!< the run folder held a finished collection; nothing was done
  std::vector<io::image_failure> skipped;   //!< files that could not be decoded (each once)
  stage_report report;                      //!< reused, resumed, started, or redone because the options changed
};

namespace detail {

inline std::string shard_stem(std::uint64_t k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06llu", static_cast<unsigned long long>(k));
  return buf;
}

//! FNV-1a over the relative paths of the image list: changes when a file is added,
//! removed or renamed, which would shift every later visit.
inline std::uint64_t image_list_hash(const std::vector<std::filesystem::path>& files, const std::filesystem::path& root) {
  std::uint64_t h = 1469598103934665603ull;
  for (const auto& f : files) {
    for (unsigned char c : std::filesystem::relative(f, root).generic_string()) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;
  }
  return h;
}

//! A CSV field (RFC 4180): io/provenance_csv.hpp, shared with the reader.
using io::csv_field;

//! The sampler's positions for a few visits, as a fingerprint: any sampler, any options,
//! and a resumed run must pick the same positions as the interrupted one.
template <sampler_policy S>
nlohmann::json sampler_fingerprint(const S& sampler, std::size_t h, std::size_t w) {
  nlohmann::json out = nlohmann::json::array();
  for (std::uint64_t v : {0ull, 1ull, 2ull, 3ull, 1000ull, 123457ull}) {
    const auto ps = sampler.positions(v, h, w);
    out.push_back(ps.size());
    for (std::size_t i = 0; i < std::min<std::size_t>(ps.size(), 4); ++i) {
      out.push_back(ps[i].y);
      out.push_back(ps[i].x);
    }
  }
  return out;
}

//! Rows of a CPU float tensor [n, cols] appended to a writer.
inline void append_rows(io::npy_writer<float>& writer, const ::torch::Tensor& t) {
  const auto c = t.to(::torch::kCPU).to(::torch::kFloat32).contiguous();
  writer.append(c.data_ptr<float>(), static_cast<std::size_t>(c.size(0)));
}

//! Removes our temporaries left in `folder` by a killed process.
inline void remove_temporaries(const std::filesystem::path& folder) {
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) return;
  std::vector<std::filesystem::path> junk;
  for (const auto& e : std::filesystem::directory_iterator(folder, ec))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) junk.push_back(e.path());
  for (const auto& p : junk) std::filesystem::remove(p, ec);
}

struct shard_record {
  std::uint64_t samples = 0;
  std::uint64_t visit_end = 0;
  std::vector<io::image_failure> skipped;
};

//! Reads shard k's manifest; nothing when it is absent, unreadable or its files are missing.
inline std::optional<shard_record> read_shard(const std::filesystem::path& shards, std::uint64_t k, bool attribution) {
  namespace fs = std::filesystem;
  const auto stem = shard_stem(k);
  std::ifstream in(shards / (stem + ".json"));
  if (!in) return std::nullopt;
  try {
    const auto j = nlohmann::json::parse(in);
    shard_record r;
    r.samples = j.at("samples").get<std::uint64_t>();
    r.visit_end = j.at("visit_end").get<std::uint64_t>();
    for (const auto& s : j.at("skipped")) r.skipped.push_back({s.at("path").get<std::string>(), s.at("reason").get<std::string>()});
    if (!fs::exists(shards / (stem + ".activations.npy")) || !fs::exists(shards / (stem + ".provenance.csv")) ||
        (attribution && !fs::exists(shards / (stem + ".attributions.npy"))))
      return std::nullopt;
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

//! Removes a collection's files from `run` (the folder itself and anything else in it stay).
inline void remove_collection(const std::filesystem::path& run) {
  for (const char* name : {"shards", "activations.npy", "attributions.npy", "provenance.csv", "collection.json"})
    io::remove_tree(run / name);
}

}  // namespace detail

//! Merges the committed shards of `run` into activations.npy, attributions.npy and
//! provenance.csv, streaming (one shard mapped at a time), then marks collection.json
//! complete. Called by `collect` at the end; callable on its own to finish a collection
//! that was stopped early (what is merged is whatever prefix of shards was committed).
inline collect_summary merge_shards(const std::filesystem::path& run, bool keep_shards = false) {
  namespace fs = std::filesystem;
  const io::folder_lock lock(run);
  const auto config_path = run / "collection.json";
  std::ifstream in(config_path);
  if (!in) throw input_error(config_path.string(), "no collection here (no collection.json)");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw input_error(config_path.string(), std::string("not valid JSON: ") + e.what());
  }
  const bool attribution = config.value("attribution", true);
  const auto dims = config.at("channels").get<std::size_t>();
  const auto classes = config.at("classes").get<std::size_t>();
  const fs::path shards = run / "shards";
  detail::remove_temporaries(run);

  collect_summary summary;
  std::set<std::string> skipped_seen;
  io::npy_writer<float> activations(run / "activations.npy", dims);
  std::optional<io::npy_writer<float>> attributions;
  if (attribution) attributions.emplace(run / "attributions.npy", classes);
  const fs::path provenance_path = run / "provenance.csv";
  const fs::path provenance_tmp = io::detail::temporary_sibling(provenance_path);
  {
    std::ofstream provenance(provenance_tmp, std::ios::binary | std::ios::trunc);
    if (!provenance) throw input_error(provenance_path.string(), "cannot open for writing");
    provenance << "image,x,y\n";
    for (std::uint64_t k = 0;; ++k) {
      auto record = detail::read_shard(shards, k, attribution);
      if (!record) break;
      const auto stem = detail::shard_stem(k);
      {
        io::mapped_npy a(shards / (stem + ".activations.npy"), false);
        activations.append(a.view().data(), a.view().rows());
      }
      if (attribution) {
        io::mapped_npy t(shards / (stem + ".attributions.npy"), false);
        attributions->append(t.view().data(), t.view().rows());
      }
      std::ifstream part(shards / (stem + ".provenance.csv"), std::ios::binary);
      std::string line;
      std::getline(part, line);  // header
      while (std::getline(part, line)) provenance << line << '\n';
      summary.samples += record->samples;
      summary.visits = record->visit_end;
      for (auto& s : record->skipped)
        if (skipped_seen.insert(s.path.string()).second) summary.skipped.push_back(std::move(s));
    }
    provenance.flush();
    if (!provenance) {
      std::error_code ignored;
      fs::remove(provenance_tmp, ignored);
      throw input_error(provenance_path.string(), "write failed (disk full?)");
    }
  }
  if (activations.rows() != summary.samples)
    throw input_error(shards.string(), "shard manifests and data disagree on the number of samples");
  activations.close();
  if (attributions) attributions->close();
  fs::rename(provenance_tmp, provenance_path);

  config["complete"] = true;
  config["result"] = {{"samples", summary.samples}, {"visits", summary.visits}};
  auto& skipped = config["result"]["skipped"] = nlohmann::json::array();
  for (const auto& s : summary.skipped) skipped.push_back({{"path", s.path.string()}, {"reason", s.reason}});
  io::atomic_write(config_path, [&](std::ostream& out) { out << config.dump(2) << '\n'; });
  if (!keep_shards) {
    std::error_code ignored;
    io::remove_tree(shards, ignored);
  }
  return summary;
}

namespace detail {

//! What a finished collection's record says, as a summary.
inline collect_summary summary_of_complete(const nlohmann::json& record) {
  collect_summary summary;
  summary.already_complete = true;
  summary.samples = summary.resumed_samples = record.at("result").value("samples", std::uint64_t{0});
  summary.visits = record.at("result").value("visits", std::uint64_t{0});
  for (const auto& s : record.at("result").value("skipped", nlohmann::json::array()))
    summary.skipped.push_back({s.at("path").get<std::string>(), s.at("reason").get<std::string>()});
  return summary;
}

//! Everything one collection's shards are made from: the same for every shard and every
//! rank, so that shard k's bytes depend on k alone (and, for the last one, on the target).
template <sampler_policy Sampler>
struct shard_maker {
  classifier& model;
  const std::vector<std::filesystem::path>& files;
  const Sampler& sampler;
  const collect_options& opts;
  std::filesystem::path shards;
  std::int64_t dims, map_h, map_w;
  std::size_t batch;
  std::uint64_t visits_per_shard, max_visits;

  std::uint64_t begin(std::uint64_t k) const { return k * visits_per_shard; }
  std::uint64_t end(std::uint64_t k) const { return std::min(max_visits, (k + 1) * visits_per_shard); }

  //! Makes and commits shard k: visits [begin(k), end(k)), stopping at the image that brings
  //! the samples to `wanted` when one is given (the collection's target minus the samples of
  //! shards 0..k-1). `on_batch(samples, visits)` hears each batch's additions.
  shard_record make(std::uint64_t k, std::optional<std::uint64_t> wanted,
                    const std::function<void(std::uint64_t, std::uint64_t)>& on_batch) const {
    const auto& info = model.info();
    const auto stem = shard_stem(k);
    for (const char* suffix : {".json", ".activations.npy", ".attributions.npy", ".provenance.csv"})
      io::remove_tree(shards / (stem + suffix));
    image_batch_reader reader([&](std::uint64_t v) { return files[v % files.size()]; }, begin(k), end(k),
                              static_cast<int>(info.input_height), static_cast<int>(info.input_width),
                              {.batch = batch, .threads = opts.decode_threads, .lookahead = 0,
                               .pin_memory = model.device().is_cuda()});
    // Its files under their final names appear only when complete.
    io::npy_writer<float> activations(shards / (stem + ".activations.npy"), static_cast<std::size_t>(dims));
    std::optional<io::npy_writer<float>> attributions;
    if (opts.attribution) attributions.emplace(shards / (stem + ".attributions.npy"), info.class_names.size());
    std::string provenance = "image,x,y\n";
    shard_record record;
    std::uint64_t visit = begin(k);
    const auto reached = [&] { return wanted && record.samples >= *wanted; };
    while (visit < end(k) && !reached()) {
      io::throw_if_interrupted();  // between batches: committed shards stay, this one's temporaries go
      auto next = reader.next();
      if (!next) {
        visit = end(k);
        break;
      }
      image_batch& b = *next;
      // Sites of this batch, in visit order, cut at the sample target.
      std::vector<sample_site> sites;
      std::vector<std::size_t> site_row;
      for (std::size_t i = 0; i < b.visits.size(); ++i)
        for (const auto& p : sampler.positions(b.visits[i], static_cast<std::size_t>(map_h), static_cast<std::size_t>(map_w))) {
          if (wanted && record.samples + sites.size() >= *wanted) break;
          sites.push_back({static_cast<std::int64_t>(i), p});
          site_row.push_back(i);
        }
      // The visits consumed: all of the batch, or up to the image that reached the target.
      std::uint64_t batch_end = std::min<std::uint64_t>(end(k), visit + batch);
      if (wanted && record.samples + sites.size() >= *wanted && !site_row.empty()) batch_end = b.visits[site_row.back()] + 1;
      for (auto& f : b.failures) record.skipped.push_back(std::move(f));
      if (!sites.empty()) {
        const auto x = b.pixels.to(model.device(), /*non_blocking=*/true);
        auto result = sample_layer(model, x, opts.layer, sites, opts.attribution);
        append_rows(activations, result.activations);
        if (attributions) append_rows(*attributions, result.attributions);
        for (std::size_t j = 0; j < sites.size(); ++j)
          provenance += csv_field(b.paths[site_row[j]].string()) + "," + std::to_string(sites[j].where.x) + "," +
                        std::to_string(sites[j].where.y) + "\n";
      }
      record.samples += sites.size();
      const std::uint64_t visited = batch_end - visit;
      visit = batch_end;
      if (on_batch) on_batch(sites.size(), visited);
    }
    // Commit: data files first, the manifest last.
    record.visit_end = visit;
    activations.close();
    if (attributions) attributions->close();
    io::atomic_write(shards / (stem + ".provenance.csv"), [&](std::ostream& out) { out << provenance; });
    nlohmann::json manifest = {{"samples", record.samples}, {"visit_begin", begin(k)},
                               {"visit_end", record.visit_end}, {"skipped", nlohmann::json::array()}};
    for (const auto& s : record.skipped) manifest["skipped"].push_back({{"path", s.path.string()}, {"reason", s.reason}});
    io::atomic_write(shards / (stem + ".json"), [&](std::ostream& out) { out << manifest.dump() << '\n'; });
    return record;
  }
};

}  // namespace detail

//! Collects `opts.layer` of `model` over the images below `images` into the run folder
//! `run` (see the file comment), resuming a collection found there. A run folder holding
//! a different collection (other images, layer, sampler, batch, ...) is discarded and
//! collected anew; `on_stage` hears which of these happened, and why.
//!
//! With a `group` of several processes (torch/process_group.hpp), every rank calls this
//! with the same arguments: the ranks make disjoint shards, rank 0 decides, merges and
//! reports, and the files are the bytes one process makes (docs/distributed.md).
//! This is the collect stage of every pipeline with this sampler (pipeline::collect).
template <sampler_policy Sampler>
collect_summary collect(classifier& model, const std::filesystem::path& images, const std::filesystem::path& run,
                        const Sampler& sampler, const collect_options& opts, const progress_fn& progress = {},
                        const stage_fn& on_stage = {}, process_group* group = nullptr) {
  namespace fs = std::filesystem;
  if (opts.layer.empty()) throw input_error("collect_options.layer", "no layer given");
  if (opts.repeat_images && opts.samples == 0)
    throw input_error("collect_options.samples", "repeating the images (repeat_images) needs a sample count to stop at");
  const auto files = io::list_images(images);
  if (files.empty()) throw input_error(images.string(), "no JPEG, PNG or BMP files in this folder");
  const auto& info = model.info();
  detail::check_layers_exist(info, {opts.layer}, "collect_options.layer");
  std::int64_t dims = 0;
  for (const auto& l : info.layers)
    if (l.name == opts.layer) dims = l.channels;
  const auto [map_h, map_w] = layer_map_size(model, opts.layer);
  const std::size_t batch = std::max<std::size_t>(1, opts.batch);
  const std::uint64_t visits_per_shard = batch * std::max<std::size_t>(1, opts.shard_batches);
  const std::uint64_t max_visits = opts.repeat_images ? std::numeric_limits<std::uint64_t>::max() / 2 : files.size();
  const bool leader = is_leader(group);

  nlohmann::json config = {
      {"format", "actatlas-collection/1"},
      {"model", opts.model_name},
      {"images", fs::absolute(images).lexically_normal().string()},
      {"image_count", files.size()},
      {"image_list_hash", detail::image_list_hash(files, images)},
      {"layer", opts.layer},
      {"channels", dims},
      {"classes", info.class_names.size()},
      {"input_size", {info.input_height, info.input_width}},
      {"map_size", {map_h, map_w}},
      {"sampler", std::string(Sampler::name)},
      {"sampler_fingerprint", detail::sampler_fingerprint(sampler, static_cast<std::size_t>(map_h), static_cast<std::size_t>(map_w))},
      {"batch", batch},
      {"shard_batches", std::max<std::size_t>(1, opts.shard_batches)},
      {"samples", opts.samples},
      {"repeat_images", opts.repeat_images},
      {"attribution", opts.attribution},
  };

  // Start, or resume what this folder holds: rank 0 decides and cleans, the others wait.
  const fs::path config_path = run / "collection.json", shards = run / "shards";
  std::optional<io::folder_lock> lock;
  if (leader) lock.emplace(run);  // one writer per run folder (io/folder_lock.hpp); creates it
  collect_summary summary;
  auto tell = [&](stage_report r) {
    summary.report = r;
    if (on_stage && leader) on_stage(r);
  };
  bool complete = false;
  std::optional<nlohmann::json> old;
  if (leader) {
    old = detail::read_record(config_path);
    if (!old && fs::exists(config_path)) {
      tell({"collect", false, config_path.string() + " was unreadable; collecting anew"});
      detail::remove_collection(run);
    } else if (old) {
      std::string differences;
      for (const auto& [key, value] : config.items())
        if (key != "images" && old->value(key, nlohmann::json()) != value)
          differences += (differences.empty() ? "" : "; ") + key + " was " + old->value(key, nlohmann::json()).dump() +
                         ", now " + value.dump();
      if (!differences.empty()) {
        // Another collection: its files are discarded, and the stages after it, whose records
        // hold the old activations' fingerprints, redo themselves.
        tell({"collect", false, differences});
        detail::remove_collection(run);
        old.reset();
      } else {
        try {
          if (old->value("complete", false)) {
            summary = detail::summary_of_complete(*old);
            complete = true;
            tell({"collect", true, "same options and inputs"});
          }
        } catch (const nlohmann::json::exception&) {
          // JSON, but entries of the wrong type (edited by hand, another program): as
          // unreadable as broken JSON, and answered the same way.
          summary = {};
          tell({"collect", false, config_path.string() + " was unreadable; collecting anew"});
          detail::remove_collection(run);
          old.reset();
        }
      }
    }
    if (!complete) {
      if (!old) io::atomic_write(config_path, [&](std::ostream& out) { out << config.dump(2) << '\n'; });
      fs::create_directories(shards);
      // Every committed shard stays (a job of several ranks may leave holes); anything else
      // in shards/ is debris of a killed process.
      std::set<std::string> keep;
      for (const auto& e : fs::directory_iterator(shards)) {
        const auto name = e.path().filename().string();
        if (name.size() == 11 && name.ends_with(".json") && name.find(".tmp-") == std::string::npos) {
          const auto k = std::strtoull(name.c_str(), nullptr, 10);
          if (detail::shard_stem(k) + ".json" == name && detail::read_shard(shards, k, opts.attribution))
            for (const char* suffix : {".json", ".activations.npy", ".attributions.npy", ".provenance.csv"})
              keep.insert(detail::shard_stem(k) + suffix);
        }
      }
      std::vector<fs::path> debris;
      for (const auto& e : fs::directory_iterator(shards))
        if (!keep.count(e.path().filename().string())) debris.push_back(e.path());
      for (const auto& p : debris) io::remove_tree(p);
      detail::remove_temporaries(run);
    }
  }
  barrier(group);
  if (!leader) {
    // Rank 0 has checked, cleaned or finished the folder: its record says which.
    const auto record = detail::read_record(config_path);
    if (!record) throw input_error(config_path.string(), "rank 0 left no readable collection record");
    if (record->value("complete", false)) return detail::summary_of_complete(*record);
  }
  if (complete) return summary;

  const detail::shard_maker<Sampler> maker{model, files, sampler, opts, shards, dims, map_h, map_w,
                                           batch, visits_per_shard, max_visits};
  const bool target_given = opts.samples > 0;
  // Shards committed earlier (by any process, in any order), by index.
  const auto committed_shards = [&] {
    std::map<std::uint64_t, detail::shard_record> found;
    for (const auto& e : fs::directory_iterator(shards)) {
      const auto name = e.path().filename().string();
      if (name.size() != 11 || !name.ends_with(".json")) continue;
      const auto k = std::strtoull(name.c_str(), nullptr, 10);
      if (detail::shard_stem(k) + ".json" != name) continue;
      if (auto r = detail::read_shard(shards, k, opts.attribution)) found.emplace(k, std::move(*r));
    }
    return found;
  };
  auto committed = committed_shards();
  std::uint64_t resumed = 0;
  for (const auto& [k, r] : committed) resumed += r.samples;
  summary.resumed_samples = resumed;
  if (old) tell({"collect", false, "resuming after " + std::to_string(resumed) + " samples"});
  else if (summary.report.stage.empty()) tell({"collect", false, "no earlier output"});

  // Progress: samples against the target, or visits against the images, for the whole job
  // (ranks add theirs to a job-wide counter; rank 0 shows it).
  std::uint64_t progress_start = 0, progress_local = 0;
  for (const auto& [k, r] : committed) progress_start += target_given ? r.samples : r.visit_end - maker.begin(k);
  const std::uint64_t progress_total = target_given ? opts.samples : files.size();
  const std::function<void(std::uint64_t, std::uint64_t)> on_batch = [&](std::uint64_t samples, std::uint64_t visits) {
    const std::uint64_t add = target_given ? samples : visits;
    const std::uint64_t made =
        group ? static_cast<std::uint64_t>(group->add("collect", static_cast<std::int64_t>(add))) : (progress_local += add);
    if (leader) report(progress, "collect", std::min(progress_start + made, progress_total), progress_total);
  };
  if (leader) report(progress, "collect", std::min(progress_start, progress_total), progress_total);

  // Several ranks: each makes whole shards, one per rank per round, until the shards known
  // hold the target (or cover the images). Rank 0's pass below then only cuts the last one.
  if (ranks_in(group) > 1) {
    const auto ranks = static_cast<std::uint64_t>(group->size());
    const auto me = static_cast<std::uint64_t>(group->rank());
    std::map<std::uint64_t, std::uint64_t> known;  // shard → samples
    for (const auto& [k, r] : committed) known.emplace(k, r.samples);
    auto done = [&] {
      std::uint64_t samples = 0;
      for (std::uint64_t k = 0; maker.begin(k) < max_visits; ++k) {
        const auto it = known.find(k);
        if (it == known.end()) return false;
        samples += it->second;
        if (target_given && samples >= opts.samples) return true;
        if (opts.repeat_images && maker.end(k) >= files.size() && samples == 0) return true;
      }
      return true;
    };
    while (!done()) {
      std::vector<std::uint64_t> round;
      for (std::uint64_t k = 0; round.size() < ranks && maker.begin(k) < max_visits; ++k)
        if (!known.count(k)) round.push_back(k);
      std::int64_t made = -1;
      if (me < round.size()) made = static_cast<std::int64_t>(maker.make(round[me], std::nullopt, on_batch).samples);
      group->barrier();
      const auto counts = group->all_gather(made);
      for (std::size_t q = 0; q < round.size(); ++q) known[round[q]] = static_cast<std::uint64_t>(counts[q]);
    }
    group->barrier();
    if (!leader) {
      group->barrier();  // rank 0 cuts the last shard and merges
      const auto record = detail::read_record(config_path);
      if (!record || !record->value("complete", false))
        throw input_error(config_path.string(), "rank 0 did not finish the collection");
      auto merged = detail::summary_of_complete(*record);
      merged.already_complete = false;
      merged.resumed_samples = summary.resumed_samples;
      return merged;
    }
    committed = committed_shards();
  }

  // One pass in shard order (the whole collection for one process; for several, rank 0's
  // check of their shards): a committed shard is kept unless it holds the sample that
  // reaches the target (then it is made again, cut at that sample); a missing one is made.
  std::uint64_t samples_done = 0, visit = 0, k = 0;
  auto finished = [&] {
    if (target_given && samples_done >= opts.samples) return true;
    if (visit >= max_visits) return true;
    // Repeating images that never yield a sample would go on forever.
    return opts.repeat_images && visit >= files.size() && samples_done == 0;
  };
  for (; !finished(); ++k) {
    const auto it = committed.find(k);
    const bool keep = it != committed.end() && (!target_given || samples_done + it->second.samples < opts.samples);
    const detail::shard_record r =
        keep ? it->second
             : maker.make(k, target_given ? std::optional<std::uint64_t>(opts.samples - samples_done) : std::nullopt,
                          ranks_in(group) > 1 ? nullptr : on_batch);
    samples_done += r.samples;
    visit = r.visit_end;
  }
  // Shards past the end (a job of several ranks may make one more than needed) go.
  for (const auto& [j, r] : committed)
    if (j >= k)
      for (const char* suffix : {".json", ".activations.npy", ".attributions.npy", ".provenance.csv"})
        io::remove_tree(shards / (detail::shard_stem(j) + suffix));

  auto merged = merge_shards(run, opts.keep_shards);
  merged.resumed_samples = summary.resumed_samples;
  merged.report = summary.report;
  barrier(group);
  return merged;
}

}  // namespace actatlas
