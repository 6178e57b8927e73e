// The atlas commands: collect, layout, render, atlas, demo and aligned. Each builds an
// atlas pipeline from the flags (pipelines.hpp) and calls its stages; `collect`, `layout`
// and `render` are the single stages of `atlas`, so the three with the same flags give the
// same files as `atlas` (tests/CMakeLists.txt: cli.stages_equal_atlas).
#include <actatlas/demo/procedural_images.hpp>
#include <actatlas/experiments/class_names.hpp>
#include <actatlas/experiments/layout_displacement.hpp>
#include <actatlas/io/atomic_file.hpp>
#include <actatlas/io/remove_tree.hpp>
#include <actatlas/torch/aligned_atlas.hpp>
#include <actatlas/torch/demo_model.hpp>
#include <actatlas/torch/device.hpp>
#include <actatlas/torch/models.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include "options.hpp"
#include "pipelines.hpp"

namespace cli {

namespace {

namespace fs = std::filesystem;

void print_collection(const actatlas::collect_summary& summary, const fs::path& run) {
  if (summary.resumed_samples > 0 && !summary.already_complete)
    std::fprintf(stderr, "collect: resumed after %llu samples\n", static_cast<unsigned long long>(summary.resumed_samples));
  std::fprintf(stderr, "collect: %llu samples from %llu image visits → %s\n", static_cast<unsigned long long>(summary.samples),
               static_cast<unsigned long long>(summary.visits), run.string().c_str());
  if (!summary.skipped.empty()) {
    std::fprintf(stderr, "collect: skipped %zu file(s) that could not be decoded:\n", summary.skipped.size());
    for (const auto& s : summary.skipped) std::fprintf(stderr, "  %s: %s\n", s.path.string().c_str(), s.reason.c_str());
  }
}

void print_render(const actatlas::render_result& r, const fs::path& out) {
  std::fprintf(stderr, "render: %zu icons rendered, %zu reused from the cache\n", r.icons_rendered, r.icons_reused);
  std::printf("atlas:  %s\nviewer: %s\n", r.atlas_png.string().c_str(), (out / "index.html").string().c_str());
}

//! Runs `command` as a rank of the job the environment names (torch/process_group.hpp), or
//! alone. A rank that fails tells the others before its error reaches main; a rank stopped
//! by another's failure (rank_stopped) has nothing to tell.
int run_as_job(const std::function<int()>& command) {
  job() = actatlas::process_group::from_environment();
  if (!job()) return command();
  try {
    const int status = command();
    job()->finish();
    return status;
  } catch (const actatlas::rank_stopped&) {
    throw;
  } catch (const actatlas::io::interrupted& e) {
    job()->fail(e.what(), e.exit_status());
    throw;
  } catch (const usage_error& e) {
    job()->fail(e.what(), 2);
    throw;
  } catch (const actatlas::input_error& e) {
    job()->fail(e.what(), 2);
    throw;
  } catch (const std::exception& e) {
    job()->fail(e.what(), 1);
    throw;
  }
}

int collect_command(const settings& s) {
  const auto device = device_for(s);
  auto model = actatlas::open_model(s.model, device);
  if (reports())
    std::fprintf(stderr, "collect: %s, layer %s, on %s%s\n", fs::path(s.model).filename().string().c_str(),
                 s.collect.layer.c_str(), device.str().c_str(),
                 job() ? (" (rank 0 of " + std::to_string(job()->size()) + ")").c_str() : "");
  return with_sampler(s, [&](auto sampler) {
    const auto p = make_atlas_pipeline(s, sampler, default_reducer(umap_options(s)), default_objective{});
    const auto summary = p.collect(*model, s.images, s.out);
    if (reports()) print_collection(summary, s.out);
    if (summary.samples == 0)
      throw actatlas::input_error(s.images, "no sample was collected (no image could be decoded, see above)");
    return 0;
  });
}

int layout_command(const settings& s) {
  if (s.preset == "lucid-class" && s.reducer != reducer_choice::tsne)
    throw usage_error("--preset lucid-class is a t-SNE preset (add --reducer tsne)");
  if ((s.preset == "article" || s.preset == "article-early") && s.reducer != reducer_choice::umap)
    throw usage_error("--preset " + s.preset + " is a UMAP preset (--reducer umap)");
  const auto start = std::chrono::steady_clock::now();
  return with_reducer(s, [&](auto reducer) {
    const auto p = make_atlas_pipeline(s, default_sampler{}, reducer, default_objective{});
    // In a job, rank 0 lays out while the others wait.
    if (!reports()) {
      job()->barrier();
      return 0;
    }
    const auto r = p.lay_out(s.in, s.out, s.dims);
    if (job()) job()->barrier();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "layout: %zu rows → %s (%zu-D) in %.1f s\n", r.layout.shape(0), s.out.c_str(), s.dims, secs);
    return 0;
  });
}

int render_command(const settings& s) {
  const fs::path run = s.run;
  const fs::path layout = s.layout.empty() ? run / "layout.npy" : fs::path(s.layout);
  const fs::path out = s.out.empty() ? run / "atlas" : fs::path(s.out);
  return with_objective(s, [&](auto objective) {
    const auto p = make_atlas_pipeline(s, default_sampler{}, default_reducer(umap_options(s)), objective);
    auto model = actatlas::open_model(s.model, device_for(s));
    const auto r = p.render(*model, run, layout, out);
    if (reports()) print_render(r, out);
    return 0;
  });
}

int atlas_command(const settings& s) {
  const fs::path out = s.out;
  // Checked before the model is opened, so that a bad grid costs nothing.
  with_atlas_pipeline(s, [&](const auto& p) {
    auto model = actatlas::open_model(s.model, device_for(s));
    const auto r = p.atlas(*model, s.images, out);
    if (!reports()) return;
    print_collection(r.collection, out / "run");
    print_render(r.atlas, out / "atlas");
  });
  return 0;
}

}  // namespace

int run_collect(const settings& s) { return run_as_job([&] { return collect_command(s); }); }
int run_layout(const settings& s) { return run_as_job([&] { return layout_command(s); }); }
int run_render(const settings& s) { return run_as_job([&] { return render_command(s); }); }
int run_atlas(const settings& s) { return run_as_job([&] { return atlas_command(s); }); }

int run_demo(const settings& s) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const fs::path out = s.out;
  const fs::path cache = s.cache.empty() ? actatlas::default_demo_cache_dir() : fs::path(s.cache);
  const auto device = actatlas::pick_device(s.device);
  with_atlas_pipeline(s, [&](auto p) {
    std::fprintf(stderr, "demo: [1/3] the demo model (cached in %s)\n", cache.string().c_str());
    auto model = actatlas::load_or_train_demo_model(cache, {}, actatlas::progress_bar{});
    model->to(device);
    std::fprintf(stderr, "demo: model held-out accuracy %.1f%%, on %s\n", 100.0 * model->metadata().value("heldout_accuracy", 0.0),
                 device.str().c_str());

    // The image folder is complete once its marker exists (written last).
    const auto images = out / "images";
    const auto marker = images / ".complete";
    const std::string wanted = std::to_string(s.per_class) + " per class, seed " + std::to_string(s.seed);
    std::string have;
    if (std::ifstream in{marker}) std::getline(in, have);
    if (have != wanted) {
      std::fprintf(stderr, "demo: [2/3] writing %zu procedural images to %s\n", s.per_class * actatlas::demo::class_count(),
                   images.string().c_str());
      actatlas::io::remove_tree(images);
      actatlas::demo::write_folder(images, s.per_class, s.seed + 1000, actatlas::demo::default_image_size, actatlas::progress_bar{});
      actatlas::io::atomic_write(marker, [&](std::ostream& o) { o << wanted << '\n'; });
    } else {
      std::fprintf(stderr, "demo: [2/3] reusing the images in %s\n", images.string().c_str());
    }

    std::fprintf(stderr, "demo: [3/3] the atlas: collect, layout, render\n");
    p.collection().model_name = "demo_cnn";
    if (p.pictures().title.empty()) p.pictures().title = "demo CNN · " + s.collect.layer;
    const auto r = p.atlas(*model, images, out);
    print_collection(r.collection, out / "run");
    const double secs = std::chrono::duration<double>(clock::now() - start).count();
    std::fprintf(stderr, "demo: %zu icons rendered, %zu reused; done in %.0f s\n", r.atlas.icons_rendered, r.atlas.icons_reused,
                 secs);
    std::printf("atlas:  %s\nviewer: %s\n", fs::absolute(r.atlas.atlas_png).string().c_str(),
                fs::absolute(out / "atlas" / "index.html").string().c_str());
  });
  return 0;
}

int run_aligned(const settings& s) {
  const auto [la, lb] = actatlas::experiments::split_pair(s.layers, "--layers");
  const fs::path out = s.out.empty() ? fs::path("aligned-" + la + "-" + lb) : fs::path(s.out);
  actatlas::aligned_atlas_options o;
  o.samples = s.collect.samples;
  o.seed = s.seed;
  o.batch = s.collect.batch;
  o.model_name = fs::path(s.model).filename().string();
  o.layout.umap = umap_options(s);
  return with_objective(s, [&](auto objective) {
    // The atlas pipeline's type (random positions, UMAP), so its render stage is shared.
    const auto p = make_atlas_pipeline(s, default_sampler({.seed = s.seed}), default_reducer(umap_options(s)), objective);
    auto model = actatlas::open_model(s.model, actatlas::pick_device(s.device));
    const auto r = actatlas::aligned_atlas(*model, s.images, la, lb, out, p, o);
    std::fprintf(stderr,
                 "aligned: explained variance %s→%s %.2f, %s→%s %.2f; mean displacement of a sample between the two "
                 "layouts %.3f (unit square)\n",
                 la.c_str(), lb.c_str(), r.layouts.explained_ab, lb.c_str(), la.c_str(), r.layouts.explained_ba,
                 r.mean_displacement);
    if (s.baseline) {
      namespace ex = actatlas::experiments;
      const auto acts_a = actatlas::io::read_npy<float, 2>(out / la / "run" / "activations.npy");
      const auto acts_b = actatlas::io::read_npy<float, 2>(out / lb / "run" / "activations.npy");
      const auto [ia, ib] = ex::independent_layouts(acts_a, acts_b, o.layout.umap, actatlas::progress_bar{});
      std::fprintf(stderr,
                   "aligned: baseline, two independent UMAPs: mean displacement %.3f raw, %.3f after the best similarity "
                   "transform (aligned: %.3f)\n",
                   ex::mean_displacement(ia, ib), ex::mean_displacement(ex::procrustes_align(ib, ia), ia), r.mean_displacement);
    }
    std::printf("atlases: %s %s\nviewer:  %s\n", r.atlas_a.atlas_png.string().c_str(), r.atlas_b.atlas_png.string().c_str(),
                r.page.string().c_str());
    return 0;
  });
}

}  // namespace cli
