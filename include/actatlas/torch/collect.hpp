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
#include <limits>
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

//! Collects `opts.layer` of `model` over the images below `images` into the run folder
//! `run` (see the file comment), resuming a collection found there. A run folder holding
//! a different collection (other images, layer, sampler, batch, ...) is discarded and
//! collected anew; `on_stage` hears which of these happened, and why.
//! This is the collect stage of every pipeline with this sampler (pipeline::collect).
template <sampler_policy Sampler>
collect_summary collect(classifier& model, const std::filesystem::path& images, const std::filesystem::path& run,
                        const Sampler& sampler, const collect_options& opts, const progress_fn& progress = {},
                        const stage_fn& on_stage = {}) {
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

  // Start, or resume what this folder holds.
  const fs::path config_path = run / "collection.json", shards = run / "shards";
  const io::folder_lock lock(run);  // one writer per run folder (io/folder_lock.hpp); creates it
  collect_summary summary;
  auto tell = [&](stage_report r) {
    summary.report = r;
    if (on_stage) on_stage(r);
  };
  std::optional<nlohmann::json> old = detail::read_record(config_path);
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
          summary.already_complete = true;
          summary.samples = summary.resumed_samples = old->at("result").value("samples", std::uint64_t{0});
          summary.visits = old->at("result").value("visits", std::uint64_t{0});
          for (const auto& s : old->at("result").value("skipped", nlohmann::json::array()))
            summary.skipped.push_back({s.at("path").get<std::string>(), s.at("reason").get<std::string>()});
          tell({"collect", true, "same options and inputs"});
          return summary;
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
  if (!old) io::atomic_write(config_path, [&](std::ostream& out) { out << config.dump(2) << '\n'; });
  fs::create_directories(shards);

  std::uint64_t shard = 0, samples_done = 0, visit = 0;
  while (auto record = detail::read_shard(shards, shard, opts.attribution)) {
    samples_done += record->samples;
    visit = record->visit_end;
    ++shard;
  }
  summary.resumed_samples = samples_done;
  if (old) tell({"collect", false, "resuming after " + std::to_string(samples_done) + " samples"});
  else if (summary.report.stage.empty()) tell({"collect", false, "no earlier output"});
  // Everything in shards/ that is not one of the committed shards 0..shard-1 is debris.
  {
    std::set<std::string> keep;
    for (std::uint64_t k = 0; k < shard; ++k) {
      const auto stem = detail::shard_stem(k);
      for (const char* suffix : {".json", ".activations.npy", ".attributions.npy", ".provenance.csv"})
        keep.insert(stem + suffix);
    }
    std::vector<fs::path> debris;
    for (const auto& e : fs::directory_iterator(shards))
      if (!keep.count(e.path().filename().string())) debris.push_back(e.path());
    for (const auto& p : debris) io::remove_tree(p);
    detail::remove_temporaries(run);
  }

  const bool target_given = opts.samples > 0;
  auto finished = [&] {
    if (target_given && samples_done >= opts.samples) return true;
    if (visit >= max_visits) return true;
    // Repeating images that never yield a sample would go on forever.
    return opts.repeat_images && visit >= files.size() && samples_done == 0;
  };
  auto report_progress = [&] {
    if (target_given) report(progress, "collect", samples_done, opts.samples);
    else report(progress, "collect", visit, files.size());
  };
  report_progress();

  if (!finished()) {
    image_batch_reader reader([&](std::uint64_t v) { return files[v % files.size()]; }, shard * visits_per_shard,
                              max_visits, static_cast<int>(info.input_height), static_cast<int>(info.input_width),
                              {.batch = batch, .threads = opts.decode_threads, .lookahead = 0,
                               .pin_memory = model.device().is_cuda()});
    const std::size_t classes = info.class_names.size();
    while (!finished()) {
      // One shard: its files under their final names appear only when complete.
      const auto stem = detail::shard_stem(shard);
      io::npy_writer<float> activations(shards / (stem + ".activations.npy"), static_cast<std::size_t>(dims));
      std::optional<io::npy_writer<float>> attributions;
      if (opts.attribution) attributions.emplace(shards / (stem + ".attributions.npy"), classes);
      std::string provenance = "image,x,y\n";
      detail::shard_record record;
      const std::uint64_t shard_end = std::min(max_visits, (shard + 1) * visits_per_shard);
      while (visit < shard_end && !finished()) {
        io::throw_if_interrupted();  // between batches: committed shards stay, this one's temporaries go
        auto next = reader.next();
        if (!next) {
          visit = shard_end;
          break;
        }
        image_batch& b = *next;
        // Sites of this batch, in visit order, cut at the sample target.
        std::vector<sample_site> sites;
        std::vector<std::size_t> site_row;
        for (std::size_t i = 0; i < b.visits.size(); ++i)
          for (const auto& p : sampler.positions(b.visits[i], static_cast<std::size_t>(map_h), static_cast<std::size_t>(map_w))) {
            if (target_given && samples_done + sites.size() >= opts.samples) break;
            sites.push_back({static_cast<std::int64_t>(i), p});
            site_row.push_back(i);
          }
        // The visits consumed: all of the batch, or up to the image that reached the target.
        std::uint64_t batch_end = std::min<std::uint64_t>(shard_end, visit + batch);
        if (target_given && samples_done + sites.size() >= opts.samples && !site_row.empty())
          batch_end = b.visits[site_row.back()] + 1;
        for (auto& f : b.failures) record.skipped.push_back(std::move(f));
        if (!sites.empty()) {
          const auto x = b.pixels.to(model.device(), /*non_blocking=*/true);
          auto result = sample_layer(model, x, opts.layer, sites, opts.attribution);
          detail::append_rows(activations, result.activations);
          if (attributions) detail::append_rows(*attributions, result.attributions);
          for (std::size_t k = 0; k < sites.size(); ++k)
            provenance += detail::csv_field(b.paths[site_row[k]].string()) + "," + std::to_string(sites[k].where.x) +
                          "," + std::to_string(sites[k].where.y) + "\n";
        }
        samples_done += sites.size();
        record.samples += sites.size();
        visit = batch_end;
        report_progress();
      }
      // Commit: data files first, the manifest last.
      record.visit_end = visit;
      activations.close();
      if (attributions) attributions->close();
      io::atomic_write(shards / (stem + ".provenance.csv"), [&](std::ostream& out) { out << provenance; });
      nlohmann::json manifest = {{"samples", record.samples}, {"visit_begin", shard * visits_per_shard},
                                 {"visit_end", record.visit_end}, {"skipped", nlohmann::json::array()}};
      for (const auto& s : record.skipped)
        manifest["skipped"].push_back({{"path", s.path.string()}, {"reason", s.reason}});
      io::atomic_write(shards / (stem + ".json"), [&](std::ostream& out) { out << manifest.dump() << '\n'; });
      ++shard;
    }
  }

  auto merged = merge_shards(run, opts.keep_shards);
  merged.resumed_samples = summary.resumed_samples;
  merged.report = summary.report;
  return merged;
}

}  // namespace actatlas
