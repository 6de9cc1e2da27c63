#include "pipeline/dag.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <queue>
#include <set>

namespace cairn::pipeline {
namespace {

struct Output {
  size_t step;
  const PathEntry* entry;
  std::string_view kind;  // "out" | "metrics"
};

std::string Where(const PipelineSpec& spec, Location loc) {
  return fmt::format("{}:{}:{}", spec.file_name, loc.line, loc.column);
}

std::unexpected<Error> ErrorAt(const PipelineSpec& spec, Location loc, std::string_view step,
                               std::string_view message) {
  return InvalidArgument(fmt::format("{}: step '{}': {}", Where(spec, loc), step, message));
}

// "a/b/c" -> {"a/b", "a"}.
std::vector<std::string_view> Ancestors(std::string_view path) {
  std::vector<std::string_view> out;
  size_t slash = path.rfind('/');
  while (slash != std::string_view::npos && slash > 0) {
    out.push_back(path.substr(0, slash));
    slash = path.rfind('/', slash - 1);
  }
  return out;
}

}  // namespace

Result<Dag> Dag::Build(PipelineSpec spec) {
  Dag dag;
  dag.spec_ = std::move(spec);
  const PipelineSpec& s = dag.spec_;
  const size_t n = s.steps.size();
  for (size_t i = 0; i < n; ++i) dag.index_.emplace(s.steps[i].name, i);

  // Outputs by path, checking duplicates and nesting.
  std::map<std::string, Output, std::less<>> outputs;
  auto describe = [&](const Output& o) {
    return fmt::format("{} '{}' of step '{}' ({})", o.kind, o.entry->path, s.steps[o.step].name,
                       Where(s, o.entry->location));
  };
  for (size_t i = 0; i < n; ++i) {
    const Step& step = s.steps[i];
    std::vector<Output> mine;
    for (const PathEntry& e : step.outs) mine.push_back({i, &e, "out"});
    for (const PathEntry& e : step.metrics) mine.push_back({i, &e, "metrics"});
    for (const Output& o : mine) {
      auto [it, inserted] = outputs.emplace(o.entry->path, o);
      if (!inserted) {
        return ErrorAt(s, o.entry->location, step.name,
                       fmt::format("{} '{}' is also written as {}", o.kind, o.entry->path,
                                   describe(it->second)));
      }
    }
  }
  for (const auto& [path, o] : outputs) {
    for (std::string_view parent : Ancestors(path)) {
      auto it = outputs.find(parent);
      if (it != outputs.end()) {
        return ErrorAt(s, o.entry->location, s.steps[o.step].name,
                       fmt::format("{} '{}' is inside {}", o.kind, path, describe(it->second)));
      }
    }
  }

  // Edges from producers to consumers.
  dag.parents_.assign(n, {});
  dag.children_.assign(n, {});
  dag.deps_.assign(n, {});
  for (size_t i = 0; i < n; ++i) {
    std::set<size_t> parents;
    for (const PathEntry& dep : s.steps[i].deps) {
      std::set<size_t> producers;
      auto exact = outputs.find(dep.path);
      if (exact != outputs.end()) producers.insert(exact->second.step);
      for (std::string_view parent : Ancestors(dep.path)) {
        auto it = outputs.find(parent);
        if (it != outputs.end()) producers.insert(it->second.step);
      }
      if (dep.path == ".") {
        for (const auto& [path, o] : outputs) producers.insert(o.step);
      } else {
        std::string prefix = dep.path + "/";
        for (auto it = outputs.lower_bound(prefix);
             it != outputs.end() && std::string_view(it->first).starts_with(prefix); ++it) {
          producers.insert(it->second.step);
        }
      }
      DepSource source{dep.path, {}};
      for (size_t p : producers) {
        source.producers.push_back(s.steps[p].name);
        parents.insert(p);
      }
      dag.deps_[i].push_back(std::move(source));
    }
    for (size_t p : parents) {
      dag.parents_[i].push_back(p);
      dag.children_[p].push_back(i);
    }
  }

  // Kahn's algorithm, the earliest-declared ready step first.
  std::vector<size_t> missing(n);
  for (size_t i = 0; i < n; ++i) missing[i] = dag.parents_[i].size();
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < n; ++i) {
    if (missing[i] == 0) ready.push(i);
  }
  dag.rank_.assign(n, n);
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    dag.rank_[i] = dag.order_index_.size();
    dag.order_index_.push_back(i);
    for (size_t c : dag.children_[i]) {
      if (--missing[c] == 0) ready.push(c);
    }
  }
  if (dag.order_index_.size() < n) {
    // Every step left has a parent left, so walking parents must loop.
    size_t start = 0;
    while (dag.rank_[start] != n) ++start;
    std::vector<size_t> walk;
    std::vector<size_t> seen_at(n, n);
    size_t current = start;
    while (seen_at[current] == n) {
      seen_at[current] = walk.size();
      walk.push_back(current);
      size_t next = n;
      for (size_t p : dag.parents_[current]) {
        if (dag.rank_[p] == n && p < next) next = p;
      }
      current = next;
    }
    // walk[seen_at[current]..] is the cycle against data flow; reverse it.
    std::vector<size_t> cycle(walk.begin() + static_cast<std::ptrdiff_t>(seen_at[current]),
                              walk.end());
    std::reverse(cycle.begin(), cycle.end());
    std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
    std::string text;
    for (size_t i : cycle) text += s.steps[i].name + " -> ";
    text += s.steps[cycle.front()].name;
    const Step& first = s.steps[cycle.front()];
    return ErrorAt(s, first.location, first.name, "cycle: " + text);
  }
  for (size_t i : dag.order_index_) dag.order_.push_back(s.steps[i].name);
  auto by_rank = [&](size_t a, size_t b) { return dag.rank_[a] < dag.rank_[b]; };
  for (size_t i = 0; i < n; ++i) {
    std::sort(dag.parents_[i].begin(), dag.parents_[i].end(), by_rank);
    std::sort(dag.children_[i].begin(), dag.children_[i].end(), by_rank);
  }
  return dag;
}

std::optional<size_t> Dag::IndexOf(std::string_view step) const {
  auto it = index_.find(step);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Dag::Names(const std::vector<size_t>& indices) const {
  std::vector<std::string> out;
  out.reserve(indices.size());
  for (size_t i : indices) out.push_back(spec_.steps[i].name);
  return out;
}

std::vector<size_t> Dag::Closure(size_t start, bool upstream) const {
  std::vector<bool> seen(spec_.steps.size(), false);
  std::vector<size_t> stack{start};
  std::vector<size_t> out;
  while (!stack.empty()) {
    size_t i = stack.back();
    stack.pop_back();
    for (size_t next : upstream ? parents_[i] : children_[i]) {
      if (!seen[next]) {
        seen[next] = true;
        out.push_back(next);
        stack.push_back(next);
      }
    }
  }
  std::sort(out.begin(), out.end(), [&](size_t a, size_t b) { return rank_[a] < rank_[b]; });
  return out;
}

Result<size_t> Dag::Lookup(std::string_view step) const {
  std::optional<size_t> i = IndexOf(step);
  if (!i) return NotFound(fmt::format("pipeline has no step '{}'", step));
  return *i;
}

Result<std::vector<std::string>> Dag::Parents(std::string_view step) const {
  CAIRN_ASSIGN_OR_RETURN(size_t i, Lookup(step));
  return Names(parents_[i]);
}

Result<std::vector<std::string>> Dag::Children(std::string_view step) const {
  CAIRN_ASSIGN_OR_RETURN(size_t i, Lookup(step));
  return Names(children_[i]);
}

Result<std::vector<std::string>> Dag::Upstream(std::string_view step) const {
  CAIRN_ASSIGN_OR_RETURN(size_t i, Lookup(step));
  return Names(Closure(i, true));
}

Result<std::vector<std::string>> Dag::Downstream(std::string_view step) const {
  CAIRN_ASSIGN_OR_RETURN(size_t i, Lookup(step));
  return Names(Closure(i, false));
}

Result<std::vector<DepSource>> Dag::Deps(std::string_view step) const {
  CAIRN_ASSIGN_OR_RETURN(size_t i, Lookup(step));
  return deps_[i];
}

std::vector<std::string> Dag::SourcePaths() const {
  std::set<std::string> out;
  for (const auto& deps : deps_) {
    for (const DepSource& d : deps) {
      if (d.producers.empty()) out.insert(d.path);
    }
  }
  return {out.begin(), out.end()};
}

std::string Dag::RenderDag() const {
  const size_t n = spec_.steps.size();
  std::vector<size_t> layer(n, 0);
  size_t max_layer = 0;
  for (size_t i : order_index_) {
    for (size_t p : parents_[i]) layer[i] = std::max(layer[i], layer[p] + 1);
    max_layer = std::max(max_layer, layer[i]);
  }
  std::string out;
  for (size_t l = 0; l <= max_layer && n > 0; ++l) {
    out += fmt::format("layer {}\n", l);
    for (size_t i : order_index_) {
      if (layer[i] != l) continue;
      out += "  " + spec_.steps[i].name;
      for (size_t k = 0; k < parents_[i].size(); ++k) {
        out += k == 0 ? " <- " : ", ";
        out += spec_.steps[parents_[i][k]].name;
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace cairn::pipeline
