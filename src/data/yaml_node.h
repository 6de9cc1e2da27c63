#pragma once
// Small yaml-cpp helpers for the strict readers of Cairn's YAML files
// (pointers, .cairn/config.yaml, cairn.lock, params): where a node was
// written and what it is, for error messages. Include only from code that
// links yaml-cpp.
#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

namespace cairn::data {

// The 0-based line yaml-cpp recorded for `node`, or -1 when unknown. Not
// inlined: g++ 12 reports a false -Wdangling-pointer inside yaml-cpp's
// Node::Mark() when it is.
[[gnu::noinline]] inline int YamlMarkLine(const YAML::Node& node) { return node.Mark().line; }

// YamlMarkLine, 0 when unknown.
inline int YamlLine(const YAML::Node& node) {
  const int line = YamlMarkLine(node);
  return line >= 0 ? line : 0;
}

// "a list", "a mapping", "'<scalar>'", or `absent` for a null or undefined node.
inline std::string DescribeYamlNode(const YAML::Node& node, std::string_view absent) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    default:
      return std::string(absent);
  }
}

}  // namespace cairn::data
