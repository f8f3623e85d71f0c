// Templates: parsing (once, with clear syntax errors), rendering against the
// run's input, earlier outputs and the environment, and redaction of secrets.
#include "engine/template.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace steadfast::engine {
namespace {

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "'" << (haystack) << "' does not contain '" << (needle) << "'"

class TemplateTest : public ::testing::Test {
 protected:
  Json input = Json::parse(R"({
    "document_url": "https://example.com/doc?id=7",
    "text": "hello world!",
    "n": 10,
    "ratio": 0.5,
    "flag": true,
    "nothing": null,
    "items": [{"id": "a1"}, {"id": "b2", "tags": ["x", "y"]}],
    "nested": {"deep": {"er": "bottom"}},
    "my-key": "dashed",
    "7": "digit key",
    "unicode": "héllo"
  })");
  std::map<std::string, Json> outputs{
      {"fetch", Json{{"text", "fetched body"}, {"status", 200}}},
      {"my-step", Json{{"v", 1}}},
      {"list", Json::array({1, 2, 3})},
  };
  std::map<std::string, std::string> env{{"API_KEY", "sk-secret-123"},
                                         {"BASE", "http://127.0.0.1:8080"},
                                         {"EMPTY", ""},
                                         {"QUOTED", "a\"b\\c"}};
  Redactor secrets;

  TemplateContext context() {
    return TemplateContext(input, outputs, [this](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    });
  }

  std::string render(std::string_view text) { return Template::parse(text).render(context(), secrets); }
  Json value(std::string_view text) { return Template::parse(text).render_value(context(), secrets); }

  std::string syntax_error(std::string_view text) {
    try {
      (void)Template::parse(text);
    } catch (const TemplateSyntaxError& e) {
      return e.what();
    }
    ADD_FAILURE() << "parsed: " << text;
    return {};
  }
  std::string render_error(std::string_view text) {
    try {
      (void)render(text);
    } catch (const TemplateRenderError& e) {
      return e.what();
    }
    ADD_FAILURE() << "rendered: " << text;
    return {};
  }
};

// --- paths

TEST_F(TemplateTest, PlainTextIsLiteral) {
  EXPECT_EQ(render("no templates here"), "no templates here");
  EXPECT_TRUE(Template::parse("plain").is_literal());
  EXPECT_FALSE(Template::parse("a {{input.n}}").is_literal());
  EXPECT_FALSE(Template::parse("${API_KEY}").is_literal());
}

TEST_F(TemplateTest, EmptyTemplate) {
  EXPECT_EQ(render(""), "");
  EXPECT_EQ(value(""), Json(""));
  EXPECT_EQ(Template().render(context(), secrets), "");
  EXPECT_TRUE(Template().is_literal());
}

TEST_F(TemplateTest, InputPaths) {
  EXPECT_EQ(render("{{input.document_url}}"), "https://example.com/doc?id=7");
  EXPECT_EQ(render("get {{ input.document_url }} now"), "get https://example.com/doc?id=7 now");
  EXPECT_EQ(render("{{input.nested.deep.er}}"), "bottom");
  EXPECT_EQ(render("{{input.unicode}}"), "héllo");
}

TEST_F(TemplateTest, StepOutputPaths) {
  EXPECT_EQ(render("{{steps.fetch.output.text}}"), "fetched body");
  EXPECT_EQ(render("{{steps.fetch.output.status}}"), "200");
  EXPECT_EQ(render("{{steps.my-step.output.v}}"), "1");
  EXPECT_EQ(value("{{steps.list.output}}"), Json::array({1, 2, 3}));
  EXPECT_EQ(value("{{steps.list.output.2}}"), Json(3));
}

TEST_F(TemplateTest, ArrayIndices) {
  EXPECT_EQ(render("{{input.items.0.id}}"), "a1");
  EXPECT_EQ(render("{{input.items.1.tags.1}}"), "y");
  EXPECT_EQ(render("{{input.7}}"), "digit key");  // digits name an object key too
}

TEST_F(TemplateTest, DashesJoinNamesNotNumbers) {
  EXPECT_EQ(render("{{input.my-key}}"), "dashed");
  EXPECT_EQ(value("{{10-4}}"), Json(6));
  EXPECT_EQ(value("{{input.n - 4}}"), Json(6));
}

TEST_F(TemplateTest, NonStringValuesInterpolateAsCompactJson) {
  EXPECT_EQ(render("n={{input.n}}"), "n=10");
  EXPECT_EQ(render("r={{input.ratio}}"), "r=0.5");
  EXPECT_EQ(render("f={{input.flag}}"), "f=true");
  EXPECT_EQ(render("z={{input.nothing}}"), "z=null");
  EXPECT_EQ(render("o={{input.nested}}"), R"(o={"deep":{"er":"bottom"}})");
  EXPECT_EQ(render("a={{input.items.1.tags}}"), R"(a=["x","y"])");
}

TEST_F(TemplateTest, WholeExpressionKeepsItsType) {
  EXPECT_EQ(value("{{input.n}}"), Json(10));
  EXPECT_EQ(value("{{ input.nested }}"), input["nested"]);
  EXPECT_EQ(value("{{input.flag}}"), Json(true));
  EXPECT_EQ(value("{{input.nothing}}"), Json(nullptr));
  // Anything around it makes a string.
  EXPECT_EQ(value(" {{input.n}}"), Json(" 10"));
  EXPECT_EQ(value("{{input.n}}{{input.n}}"), Json("1010"));
  // ${...} is always a string.
  EXPECT_EQ(value("${BASE}"), Json("http://127.0.0.1:8080"));
}

// --- expressions

TEST_F(TemplateTest, LenCountsBytesAndElements) {
  EXPECT_EQ(value("{{len(input.text)}}"), Json(12));
  EXPECT_EQ(value("{{len(input.unicode)}}"), Json(6));  // bytes, not characters
  EXPECT_EQ(value("{{len(input.items)}}"), Json(2));
  EXPECT_EQ(value("{{len(input.nested)}}"), Json(1));
  EXPECT_EQ(value("{{len(steps.fetch.output.text)}}"), Json(12));
}

TEST_F(TemplateTest, ArithmeticWithCeilingDivision) {
  EXPECT_EQ(value("{{len(input.text) / 4}}"), Json(3));   // 12 / 4
  EXPECT_EQ(value("{{len(input.text) / 5}}"), Json(3));   // 2.4 rounds up
  EXPECT_EQ(value("{{len(input.text) / 12}}"), Json(1));
  EXPECT_EQ(value("{{len(input.text) / 13}}"), Json(1));  // never undercounts to 0
  EXPECT_EQ(value("{{len(input.text) / 4 + 100}}"), Json(103));
  EXPECT_EQ(value("{{2 + 3 * 4}}"), Json(14));
  EXPECT_EQ(value("{{(2 + 3) * 4}}"), Json(20));
  EXPECT_EQ(value("{{input.n * 3 - 1}}"), Json(29));
  EXPECT_EQ(value("{{0 - 7 / 2}}"), Json(-4));  // ceil(3.5) = 4
  EXPECT_EQ(value("{{(0 - 7) / 2}}"), Json(-3));  // ceil(-3.5) = -3
  EXPECT_EQ(render("~{{len(input.text) / 4}} tokens"), "~3 tokens");
}

TEST_F(TemplateTest, Urlencode) {
  EXPECT_EQ(render("q={{urlencode(input.document_url)}}"), "q=https%3A%2F%2Fexample.com%2Fdoc%3Fid%3D7");
  EXPECT_EQ(render("{{urlencode(input.n)}}"), "10");
  EXPECT_EQ(render("{{urlencode(input.unicode)}}"), "h%C3%A9llo");
}

TEST_F(TemplateTest, RawKeepsTheValueAndRenderWithSeesEachInsertion) {
  EXPECT_EQ(render("{{raw(input.document_url)}}"), "https://example.com/doc?id=7");
  const auto t = engine::Template::parse("a{{raw(input.n)}}b{{urlencode(input.n)}}{{input.n}}");
  EXPECT_TRUE(t.has_expressions());
  EXPECT_FALSE(engine::Template::parse("x ${HOME}").has_expressions());
  std::vector<std::string> seen;
  const std::string out = t.render_with(context(), secrets, [&](std::string_view so_far, const engine::Template::Insertion& v) {
    seen.push_back(std::string(so_far) + (v.raw ? "|raw" : "") + (v.encoded ? "|encoded" : ""));
    return std::string("<") + v.value.dump() + ">";
  });
  EXPECT_EQ(out, "a<10>b<\"10\"><10>");
  EXPECT_EQ(seen, (std::vector<std::string>{"a|raw", "a<10>b|encoded", "a<10>b<\"10\">"}));
}

TEST_F(TemplateTest, ArithmeticErrors) {
  EXPECT_CONTAINS(render_error("{{input.text + 1}}"), "'+' needs integers; 'input.text' is string");
  EXPECT_CONTAINS(render_error("{{input.ratio * 2}}"), "'input.ratio' is a number with a fraction");
  EXPECT_CONTAINS(render_error("{{len(input.n)}}"), "len() needs a string, array or object; 'input.n' is number");
  EXPECT_CONTAINS(render_error("{{4 / (input.n - 10)}}"), "division by zero");
  EXPECT_CONTAINS(render_error("{{9223372036854775807 + 1}}"), "integer overflow");
  EXPECT_CONTAINS(render_error("{{4611686018427387904 * 2}}"), "integer overflow");
}

// --- environment

TEST_F(TemplateTest, EnvironmentValuesAreSecrets) {
  EXPECT_EQ(render("Bearer ${API_KEY}"), "Bearer sk-secret-123");
  EXPECT_EQ(render("${BASE}/v1/{{input.n}}"), "http://127.0.0.1:8080/v1/10");
  EXPECT_EQ(secrets.redact("key sk-secret-123 and http://127.0.0.1:8080"), "key *** and ***");
  EXPECT_TRUE(Template::parse("x${API_KEY}").uses_env());
  EXPECT_FALSE(Template::parse("{{input.n}}").uses_env());
}

TEST_F(TemplateTest, EmptyEnvironmentValueRendersEmptyAndIsNoSecret) {
  EXPECT_EQ(render("[${EMPTY}]"), "[]");
  EXPECT_TRUE(secrets.empty());
}

TEST_F(TemplateTest, MissingEnvironmentVariableNamesIt) {
  const std::string message = render_error("Bearer ${NOT_SET_ANYWHERE}");
  EXPECT_CONTAINS(message, "environment variable 'NOT_SET_ANYWHERE' is not set");
}

TEST_F(TemplateTest, ProcessEnvironmentByDefault) {
  ::setenv("STEADFAST_TEMPLATE_TEST_VAR", "from-process", 1);
  const TemplateContext process(input, outputs);
  EXPECT_EQ(Template::parse("${STEADFAST_TEMPLATE_TEST_VAR}").render(process, secrets), "from-process");
  ::unsetenv("STEADFAST_TEMPLATE_TEST_VAR");
  EXPECT_THROW((void)Template::parse("${STEADFAST_TEMPLATE_TEST_VAR}").render(process, secrets),
               TemplateRenderError);
}

TEST_F(TemplateTest, StepContextGivesInputAndOutputs) {
  StepContext ctx("run-1", "wf", "call", 1, input, outputs);
  const TemplateContext from_ctx(ctx);
  EXPECT_EQ(Template::parse("{{input.n}}/{{steps.fetch.output.text}}").render(from_ctx, secrets),
            "10/fetched body");
}

// --- a map step's item

TEST_F(TemplateTest, AMapItemIsItemAndItsIndexIsItemIndex) {
  const Json item = {{"text", "chunk two"}, {"n", 2}};
  TemplateContext c = context();
  c.with_item(item, 1);
  EXPECT_EQ(Template::parse("{{item.text}} #{{item_index}}").render(c, secrets), "chunk two #1");
  EXPECT_EQ(Template::parse("{{item}}").render_value(c, secrets), item);
  EXPECT_EQ(Template::parse("{{item_index + 1}}").render_value(c, secrets), Json(2));
  EXPECT_TRUE(Template::parse("a {{len(item.text)}}").reads_item());
  EXPECT_TRUE(Template::parse("{{item_index}}").reads_item());
  EXPECT_FALSE(Template::parse("{{input.n}} {{steps.fetch.output.text}}").reads_item());
  EXPECT_CONTAINS(render_error("{{item.text}}"), "no value at 'item.text': only a map step has an item");
  EXPECT_CONTAINS(render_error("{{item_index}}"), "only a map step has an item");

  StepContext ctx("run-1", "wf", "each", 1, input, outputs);
  ctx.set_item(item, 7);
  EXPECT_EQ(Template::parse("{{item.n}}-{{item_index}}").render(TemplateContext(ctx), secrets), "2-7");
  EXPECT_EQ(ctx.idempotency_key(), "run-1:each:7");
}

// --- callback URLs

TEST_F(TemplateTest, CallbackUrlsComeFromTheStepContextAndAreNoDataReference) {
  const Template t = Template::parse("{\"notify\": \"{{steps.approve.callback_url}}\", \"n\": {{steps.fetch.output.status}}}");
  EXPECT_EQ(t.step_references(), std::vector<std::string>{"fetch"}) << "a callback URL reads no output";
  EXPECT_EQ(t.callback_references(), std::vector<std::string>{"approve"});
  StepContext ctx("run-1", "wf", "call", 1, input, outputs);
  ctx.set_callback_maker([](std::string_view run, std::string_view step) {
    return "https://sf.example.com/v1/callbacks/" + std::string(run) + "/" + std::string(step) + "/k.abc";
  });
  const TemplateContext from_ctx(ctx);
  EXPECT_EQ(t.render(from_ctx, secrets),
            "{\"notify\": \"https://sf.example.com/v1/callbacks/run-1/approve/k.abc\", \"n\": 200}");
  EXPECT_EQ(Template::parse("{{steps.approve.callback_url}}").render_value(from_ctx, secrets),
            Json("https://sf.example.com/v1/callbacks/run-1/approve/k.abc"));
  EXPECT_EQ(ctx.callback_url("approve"), "https://sf.example.com/v1/callbacks/run-1/approve/k.abc");
}

TEST_F(TemplateTest, ACallbackUrlWithoutSigningFailsNamingWhatIsMissing) {
  EXPECT_EQ(render_error("{{steps.approve.callback_url}}"),
            "no value at 'steps.approve.callback_url': this worker makes no callback URLs (it needs --public-url "
            "and --signing-key-file)");
  StepContext ctx("run-1", "wf", "call", 1, input, outputs);
  EXPECT_EQ(ctx.callback_url("approve"), std::nullopt);
  EXPECT_NE(syntax_error("{{steps.approve.callback_url.x}}").find("steps.<name>.callback_url"), std::string::npos);
}

// --- escaping

TEST_F(TemplateTest, BackslashEscapesLiteralBraces) {
  EXPECT_EQ(render(R"(\{{input.n}})"), "{{input.n}}");
  EXPECT_EQ(render(R"(\${API_KEY})"), "${API_KEY}");
  EXPECT_TRUE(secrets.empty());
  EXPECT_TRUE(Template::parse(R"(\{{x)").is_literal());
  // Other backslashes and lone braces or dollars stay as they are.
  EXPECT_EQ(render(R"(a\b $HOME $ { } }} {)"), R"(a\b $HOME $ { } }} {)");
  EXPECT_EQ(render(R"(\\{{input.n}})"), R"(\{{input.n}})");  // only the one before '{{' is dropped
}

// --- syntax errors, at parse time

TEST_F(TemplateTest, UnclosedBraces) {
  const std::string message = syntax_error("hello {{input.n");
  EXPECT_CONTAINS(message, "template 'hello {{input.n'");
  EXPECT_CONTAINS(message, "unclosed '{{' at column 7");
  EXPECT_CONTAINS(syntax_error("x ${API_KEY"), "unclosed '${' at column 3");
}

TEST_F(TemplateTest, UnknownFunction) {
  EXPECT_CONTAINS(syntax_error("{{upper(input.text)}}"),
                  "unknown function 'upper' (known: len, urlencode, raw) at column 3");
}

TEST_F(TemplateTest, BadPaths) {
  EXPECT_CONTAINS(syntax_error("{{inputs.x}}"),
                  "bad path 'inputs.x': it must start with 'input', 'steps', 'item' or 'item_index'");
  EXPECT_CONTAINS(syntax_error("{{item_index.x}}"), "item_index is a number, it has no keys");
  EXPECT_CONTAINS(syntax_error("{{steps.fetch}}"), "bad path 'steps.fetch': expected steps.<name>.output");
  EXPECT_CONTAINS(syntax_error("{{steps.fetch.result.x}}"), "expected steps.<name>.output");
  EXPECT_CONTAINS(syntax_error("{{input..x}}"), "expected a key or index after '.'");
  EXPECT_CONTAINS(syntax_error("{{input.x.}}"), "expected a key or index after '.'");
  EXPECT_CONTAINS(syntax_error("{{input.n-1}}x{{foo-bar}}"), "(for a subtraction, put spaces around '-')");
}

TEST_F(TemplateTest, OtherSyntaxErrors) {
  EXPECT_CONTAINS(syntax_error("{{}}"), "empty expression");
  EXPECT_CONTAINS(syntax_error("{{  }}"), "empty expression");
  EXPECT_CONTAINS(syntax_error("{{input.n +}}"), "expected a value");
  EXPECT_CONTAINS(syntax_error("{{input.n input.n}}"), "unexpected 'i'");
  EXPECT_CONTAINS(syntax_error("{{len(input.text}}"), "expected ')' to close 'len'(");
  EXPECT_CONTAINS(syntax_error("{{(1 + 2}}"), "expected ')'");
  EXPECT_CONTAINS(syntax_error("{{1.5}}"), "expected an integer");
  EXPECT_CONTAINS(syntax_error("{{99999999999999999999}}"), "integer too large");
  EXPECT_CONTAINS(syntax_error("{{input.n / 0}}"), "division by zero");
  EXPECT_CONTAINS(syntax_error("{{urlencode(input.x) + 1}}"), "'+' needs integers, but urlencode(input.x) gives a string");
  EXPECT_CONTAINS(syntax_error("{{ {{input.n}} }}"), "unexpected '{'");
  EXPECT_CONTAINS(syntax_error("${1ABC}"), "bad environment variable name");
  EXPECT_CONTAINS(syntax_error("${}"), "bad environment variable name");
  EXPECT_CONTAINS(syntax_error("${A-B}"), "bad environment variable name");
  EXPECT_CONTAINS(syntax_error("{{steps.bad name.output}}"), "bad path 'steps.bad'");
}

// Found by fuzz/template_fuzzer: parsing and evaluating recurse on the
// expression, and these overflowed the stack (a crash at load or at render).
TEST_F(TemplateTest, DeepExpressionsAreSyntaxErrorsNotStackOverflows) {
  const auto repeat = [](std::string_view s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
  };
  EXPECT_CONTAINS(syntax_error("{{" + repeat("(", 100000) + "1" + repeat(")", 100000) + "}}"),
                  "expression nested deeper than 64");
  EXPECT_CONTAINS(syntax_error("{{" + repeat("len(", 100000) + "input.text" + repeat(")", 100000) + "}}"),
                  "expression nested deeper than 64");
  EXPECT_CONTAINS(syntax_error("{{1" + repeat(" + 1", 100000) + "}}"), "expression nested deeper than 64");
  EXPECT_CONTAINS(syntax_error("{{1" + repeat(" * (1", 40) + repeat(")", 40) + repeat(" + 1", 30) + "}}"),
                  "expression nested deeper than 64");
  // 64 levels still work.
  EXPECT_EQ(render("{{" + repeat("(", 63) + "1" + repeat(")", 63) + "}}"), "1");
  EXPECT_EQ(render("{{1" + repeat(" + 1", 63) + "}}"), "64");
  EXPECT_EQ(render("{{" + repeat("len(urlencode(", 31) + "input.text" + repeat("))", 31) + "}}"), "1");
}

// --- render errors

TEST_F(TemplateTest, UnknownPathsNameThePath) {
  EXPECT_CONTAINS(render_error("{{input.missing}}"), "no value at 'input.missing': 'input' has no key 'missing'");
  EXPECT_CONTAINS(render_error("{{input.nested.deep.nope}}"),
                  "no value at 'input.nested.deep.nope': 'input.nested.deep' has no key 'nope'");
  EXPECT_CONTAINS(render_error("{{input.items.5.id}}"),
                  "no value at 'input.items.5.id': index 5 is past the end of 'input.items' (2 elements)");
  EXPECT_CONTAINS(render_error("{{input.items.first}}"), "'input.items' is an array and 'first' is not an index");
  EXPECT_CONTAINS(render_error("{{input.text.x}}"), "'input.text' is string, not an object or array");
  EXPECT_CONTAINS(render_error("{{steps.later.output.x}}"),
                  "no value at 'steps.later.output.x': step 'later' has no output");
  EXPECT_CONTAINS(render_error("{{input.items.99999999999999999999999}}"), "is past the end");
}

TEST_F(TemplateTest, RenderErrorsNeverShowValues) {
  const std::string message = render_error("{{input.text.x}}");
  EXPECT_EQ(message.find("hello world"), std::string::npos) << message;
}

// --- JSON templates

TEST_F(TemplateTest, JsonTemplateRendersRecursivelyKeepingTypes) {
  const Json body = Json::parse(R"({
    "prompt": "Summarize: {{input.text}}",
    "doc": "{{input.nested}}",
    "max_tokens": "{{len(input.text) / 4}}",
    "messages": [{"role": "user", "content": "{{steps.fetch.output.text}}"}, 42, null, true],
    "{{input.n}}": "keys are not templated",
    "auth": "${API_KEY}",
    "fixed": {"a": [1, "two"]}
  })");
  const Json out = JsonTemplate::parse(body).render(context(), secrets);
  EXPECT_EQ(out, Json::parse(R"({
    "prompt": "Summarize: hello world!",
    "doc": {"deep": {"er": "bottom"}},
    "max_tokens": 3,
    "messages": [{"role": "user", "content": "fetched body"}, 42, null, true],
    "{{input.n}}": "keys are not templated",
    "auth": "sk-secret-123",
    "fixed": {"a": [1, "two"]}
  })"));
  EXPECT_EQ(secrets.redact(out.dump()).find("sk-secret-123"), std::string::npos);
}

TEST_F(TemplateTest, JsonTemplateScalarsAndEscapes) {
  EXPECT_EQ(JsonTemplate().render(context(), secrets), Json(nullptr));
  EXPECT_EQ(JsonTemplate::parse(Json(5)).render(context(), secrets), Json(5));
  EXPECT_EQ(JsonTemplate::parse(Json("{{input.n}}")).render(context(), secrets), Json(10));
  EXPECT_EQ(JsonTemplate::parse(Json(R"(\{{input.n}})")).render(context(), secrets), Json("{{input.n}}"));
  EXPECT_EQ(JsonTemplate::parse(Json::array()).render(context(), secrets), Json::array());
  EXPECT_EQ(JsonTemplate::parse(Json::object()).render(context(), secrets), Json::object());
}

TEST_F(TemplateTest, JsonTemplateSyntaxErrorGivesThePointer) {
  try {
    (void)JsonTemplate::parse(Json::parse(R"({"messages": [{"a/b": "{{input.x"}]})"));
    FAIL() << "parsed";
  } catch (const TemplateSyntaxError& e) {
    EXPECT_CONTAINS(e.what(), "at '/messages/0/a~1b': template '{{input.x': unclosed '{{'");
  }
}

TEST_F(TemplateTest, JsonTemplateRenderErrorNamesThePath) {
  const JsonTemplate t = JsonTemplate::parse(Json{{"x", {{"y", "{{steps.nope.output}}"}}}});
  EXPECT_THROW((void)t.render(context(), secrets), TemplateRenderError);
}

TEST_F(TemplateTest, ParsedTemplatesAreReusableAcrossContexts) {
  const Template t = Template::parse("{{input.n}}");
  EXPECT_EQ(t.render(context(), secrets), "10");
  input["n"] = 11;
  EXPECT_EQ(t.render(context(), secrets), "11");
  const Template copy = t;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.source(), "{{input.n}}");
}

// --- Redactor

TEST(Redactor, ReplacesEveryOccurrenceLongestFirst) {
  Redactor r;
  r.add("abc");
  r.add("abcdef");
  r.add("");
  EXPECT_EQ(r.redact("xabcdefx abc abcabc"), "x***x *** ******");
  EXPECT_EQ(r.longest(), 36u);  // \u0061\u0062... is 6 bytes per byte
  EXPECT_EQ(r.secrets().size(), 2u);
  r.add("abc");  // no duplicates
  EXPECT_EQ(r.secrets().size(), 2u);
}

TEST(Redactor, HidesTheJsonEscapedFormToo) {
  Redactor r;
  r.add("a\"b\\c");
  EXPECT_EQ(r.redact(R"({"echo":"a\"b\\c"})"), R"({"echo":"***"})");
  EXPECT_EQ(r.redact("raw a\"b\\c"), "raw ***");
}

// The forms an echoing server may use (issue 13 item 6), on the report's secret.
TEST(Redactor, HidesEveryJsonAndUrlEscapingOfASecret) {
  Redactor r;
  r.add("sekrit-MARK/12345+z=");
  // PHP's json_encode: "\/".
  EXPECT_EQ(r.redact(R"({"h":"Bearer sekrit-MARK\/12345+z="})"), R"({"h":"Bearer ***"})");
  // Every character as \u00XX, upper and lower case hex, mixed with raw ones.
  EXPECT_EQ(r.redact(R"(x\u0073\u0065krit-MARK\u002F12345\u002bz\u003d!)"), "x***!");
  // URL-encoded (either case), fully or only the reserved characters.
  EXPECT_EQ(r.redact("q=sekrit-MARK%2F12345%2Bz%3D&x"), "q=***&x");
  EXPECT_EQ(r.redact("q=%73%65%6b%72%69%74%2d%4D%41%52%4B%2f%31%32%33%34%35%2b%7a%3d"), "q=***");
  // Not a secret: one character off stays.
  EXPECT_EQ(r.redact("sekrit-MARK%2F12345+z-"), "sekrit-MARK%2F12345+z-");
}

TEST(Redactor, HidesASpaceAsPlusAndNonAsciiAsUnicodeEscapes) {
  Redactor r;
  r.add("pass word\xc3\xa9\xf0\x9f\x94\x91");  // "pass wordé🔑"
  EXPECT_EQ(r.redact("a=pass+word%C3%A9%F0%9F%94%91"), "a=***");
  EXPECT_EQ(r.redact(R"("pass word\u00e9\ud83d\udd11")"), R"("***")");
  EXPECT_EQ(r.redact("pass word\xc3\xa9\xf0\x9f\x94\x91"), "***");
}

TEST(Redactor, HidesANumericSecretEchoedAsANumber) {
  Redactor r;
  r.add("84736251");
  const Json in = Json::parse(R"({"pin": 84736251, "as_float": 8.4736251e7, "other": 84736252, "s": "x84736251"})");
  EXPECT_EQ(r.redact_json(in),
            Json::parse(R"({"pin": "***", "as_float": "***", "other": 84736252, "s": "x***"})"));
  Redactor words;
  words.add("abc");
  EXPECT_EQ(words.redact_json(Json{{"n", 1}}), (Json{{"n", 1}}));
}

// Backslashes can be read as themselves or as "\\\\": without a bound, a
// near miss would try exponentially many readings.
TEST(Redactor, ASecretOfEscapeCharactersIsCheckedInBoundedTime) {
  Redactor r;
  r.add(std::string(60, '\\'));
  const std::string near_miss = std::string(59, '\\') + "x";
  const auto started = std::chrono::steady_clock::now();
  const std::string out = r.redact(near_miss);
  EXPECT_FALSE(out.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  EXPECT_EQ(r.redact(std::string(60, '\\')), "***");
  EXPECT_EQ(r.redact("a\\b"), "a\\b");
}

TEST(Redactor, RedactsJsonStringsAndKeys) {
  Redactor r;
  r.add("s3cr3t");
  const Json in = Json::parse(R"({"h": {"Authorization": "Bearer s3cr3t"}, "s3cr3t": [1, "xs3cr3tx"]})");
  EXPECT_EQ(r.redact_json(in), Json::parse(R"({"h": {"Authorization": "Bearer ***"}, "***": [1, "x***x"]})"));
}

TEST(Redactor, EmptyRedactorChangesNothing) {
  const Redactor r;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.longest(), 0u);
  EXPECT_EQ(r.redact("anything"), "anything");
  EXPECT_EQ(r.redact_json(Json{{"a", "b"}}), (Json{{"a", "b"}}));
}

// A step's `if`: false, 0, "", null and [] skip it; everything else runs it
// (an object, even {}, and the strings "false" and "0" included).
TEST(ConditionHolds, FalseZeroEmptyStringNullAndEmptyArraySkip) {
  for (const Json& no : {Json(false), Json(0), Json(0.0), Json(""), Json(nullptr), Json::array()}) {
    EXPECT_FALSE(condition_holds(no)) << no.dump();
  }
  for (const Json& yes : {Json(true), Json(1), Json(-1), Json(0.5), Json("false"), Json("0"), Json::array({0}),
                          Json::object(), Json{{"a", 1}}}) {
    EXPECT_TRUE(condition_holds(yes)) << yes.dump();
  }
}

}  // namespace
}  // namespace steadfast::engine
