// check_document: the whole-document validity check every JSON venue parser
// runs before it reads fields. simdjson on-demand validates only what is read,
// so invalid JSON in a field no parser looks at, or a second document after
// the first, would otherwise pass. This walks every value once (objects,
// arrays, strings unescaped into the parser's buffer, numbers, atoms) and
// then requires the end of the input; it allocates nothing. The cost is
// measured in bench/feed_bench.cpp (BM_*Validate beside the simdjson floor).
#pragma once

#include <simdjson.h>

#include <string_view>

namespace tickwire::connector::venues {

// kMaxJsonDepth: nesting deeper than this is rejected (no venue nests past 4).
inline constexpr int kMaxJsonDepth = 16;

// check_value: SUCCESS if `v` and everything inside it is valid JSON, else
// the first error met (DEPTH_ERROR past kMaxJsonDepth).
inline simdjson::error_code check_value(simdjson::ondemand::value v, int depth) {
  namespace od = simdjson::ondemand;
  if (depth > kMaxJsonDepth) return simdjson::DEPTH_ERROR;
  od::json_type type;
  if (auto err = v.type().get(type)) return err;
  switch (type) {
    case od::json_type::object: {
      od::object o;
      if (auto err = v.get_object().get(o)) return err;
      for (auto field : o) {
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) return err;
        od::value inner;
        if (auto err = field.value().get(inner)) return err;
        if (auto err = check_value(inner, depth + 1)) return err;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      if (auto err = v.get_array().get(a)) return err;
      for (auto element : a) {
        od::value inner;
        if (auto err = element.get(inner)) return err;
        if (auto err = check_value(inner, depth + 1)) return err;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case od::json_type::number: {
      od::number n;
      return v.get_number().get(n);
    }
    case od::json_type::boolean: {
      bool b = false;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = v.is_null().get(is_null)) return err;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

// unclosed: whether `text` opens more objects and arrays than it closes
// (strings skipped); only run on the error path, to name the problem.
inline bool unclosed(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') --depth;
  }
  return depth > 0 || in_string;
}

// check_document: nullptr if `doc` (parsed from `text`) is one valid JSON
// object or array with nothing but whitespace after it, else what is wrong.
// Leaves the document rewound for the real parse.
inline const char* check_document(simdjson::ondemand::document& doc, std::string_view text) {
  simdjson::ondemand::value root;
  auto err = doc.get_value().get(root);
  if (err == simdjson::SCALAR_DOCUMENT_AS_VALUE) {
    doc.rewind();
    return nullptr;  // not an object: the parser says so in its own words
  }
  if (!err) err = check_value(root, 1);
  if (err == simdjson::INCOMPLETE_ARRAY_OR_OBJECT || (err && unclosed(text))) {
    return "message: truncated JSON (unclosed object or array)";
  }
  if (err == simdjson::DEPTH_ERROR) return "message: JSON nested too deeply";
  if (err) return "message: invalid JSON";
  const char* trailing = nullptr;
  // current_location() fails with OUT_OF_BOUNDS exactly when the input is used up.
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    return "message: trailing content after the JSON document";
  }
  doc.rewind();
  return nullptr;
}

}  // namespace tickwire::connector::venues
