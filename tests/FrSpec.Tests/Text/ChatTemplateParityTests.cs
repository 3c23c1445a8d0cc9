using System.Text;
using System.Text.Json;
using FrSpec.Text;
using Xunit.Abstractions;

namespace FrSpec.Tests.Text;

/// <summary>
/// FrSpec's chat renderings against transformers.js apply_chat_template (in @lenml/tokenizers, under node) running the
/// published Jinja templates, on generated multi-turn conversations with and without system prompts.
/// </summary>
public class ChatTemplateParityTests(ITestOutputHelper output)
{
    private static string TemplatePath(string file) => Path.Combine(AppContext.BaseDirectory, "Text", "templates", file);

    [Theory]
    [InlineData("llama3.jinja", "llama3", "llama3")]
    [InlineData("llama3-npm.jinja", "llama3", "llama3")]
    [InlineData("llama3.1.jinja", "llama3", "llama3.1")]
    [InlineData("qwen2.jinja", "qwen3", "qwen2")]
    [InlineData("qwen2.5.jinja", "qwen3", "qwen2.5")]
    [InlineData("chatml.jinja", "qwen3", "chatml")]
    [InlineData("llama2.jinja", "llama2", "llama2")]
    public void RenderingMatchesTransformersJs(string file, string tokenizer, string family)
    {
        var jinja = File.ReadAllText(TemplatePath(file));
        var jsJinja = jinja;
        var dir = TestAssets.TokenizerDir(tokenizer);
        using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "tokenizer_config.json")));
        string? Token(string name) => config.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var template = ChatTemplate.FromJinja(jinja, Token("bos_token"), Token("eos_token"), file);
        Assert.Equal(family, template.Family);

        var nodeModules = TestAssets.NodeReference();
        if (nodeModules is null) { output.WriteLine("node not on PATH: nothing to compare with"); return; }
        var cases = Conversations(new Random(file.GetHashCode() & 0xFFFF ^ 77), alternate: family == "llama2").ToList();
        using var js = JsReference.Run(nodeModules, dir, sb =>
        {
            sb.Append("\"chat\":[");
            for (int i = 0; i < cases.Count; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append("{\"messages\":[");
                for (int k = 0; k < cases[i].Messages.Count; k++)
                {
                    if (k > 0) sb.Append(',');
                    sb.Append("{\"role\":"); JsReference.String(sb, cases[i].Messages[k].Role);
                    sb.Append(",\"content\":"); JsReference.String(sb, cases[i].Messages[k].Content); sb.Append('}');
                }
                sb.Append("],\"add_generation_prompt\":").Append(cases[i].AddGenerationPrompt ? "true" : "false");
                sb.Append(",\"chat_template\":"); JsReference.String(sb, jsJinja); sb.Append('}');
            }
            sb.Append(']');
        });
        var expected = js.RootElement.GetProperty("chat");
        var failures = new List<string>();
        for (int i = 0; i < cases.Count; i++)
        {
            var want = expected[i].GetString()!;
            Assert.False(want.StartsWith("ERROR:"), $"transformers.js failed on case {i}: {want}");
            var got = template.Render(cases[i].Messages, cases[i].AddGenerationPrompt);
            if (got != want) failures.Add($"case {i}: js \"{JsReference.Show(want)}\"\n   frspec \"{JsReference.Show(got)}\"");
        }
        output.WriteLine($"{file}: {cases.Count} conversations compared, {failures.Count} mismatches");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(5)));
    }

    private static IEnumerable<(List<ChatMessage> Messages, bool AddGenerationPrompt)> Conversations(Random rng, bool alternate)
    {
        string[] contents =
        [
            "Hello!", "  What is 2+2?  ", "Write a poem about the sea.\nMake it short.", "\n\nLeading newlines", "Trailing newlines\n\n",
            "Ünïcödé: 日本語, 한국어, emoji 😀", "Tabs\tand  spaces ", "<think>\nreasoning here\n</think>\n\nThe answer is 4.",
            "Sure: ```python\nprint('hi')\n```", "It's <b>bold</b> & \"quoted\"", "x",
        ];
        string[] systems = ["You are a helpful assistant.", "  Be concise.  ", "You are a pirate.\nSpeak like one."];
        for (int c = 0; c < 80; c++)
        {
            var messages = new List<ChatMessage>();
            if (c % 2 == 0) messages.Add(new("system", systems[rng.Next(systems.Length)]));
            int turns = 1 + rng.Next(5);
            for (int t = 0; t < turns; t++)
                messages.Add(new(t % 2 == 0 ? "user" : "assistant", contents[rng.Next(contents.Length)]));
            if (!alternate && rng.Next(6) == 0) messages.Add(new("system", systems[rng.Next(systems.Length)]));
            yield return (messages, c % 4 < 2);
        }
    }

    /// <summary>
    /// Qwen3's template uses Python string methods (split, lstrip, startswith) that transformers.js' Jinja lacks, so it
    /// is checked against renderings worked out by hand from the template.
    /// </summary>
    [Fact]
    public void Qwen3RendersLikeItsTemplate()
    {
        var t = ChatTemplate.FromTokenizerConfig(Path.Combine(TestAssets.TokenizerDir("qwen3"), "tokenizer_config.json"));
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", t.Render([new("user", "Hi")], true));
        Assert.Equal("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n<|im_start|>user\nAgain<|im_end|>\n",
            t.Render([new("system", "S"), new("user", "Hi"), new("assistant", "<think>\nplan\n</think>\n\nYo"), new("user", "Again")], false));
        // The last assistant turn after the last user turn keeps an (empty) think block.
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nYo<|im_end|>\n",
            t.Render([new("user", "Hi"), new("assistant", "Yo")], false));
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nplan\n</think>\n\nYo<|im_end|>\n",
            t.Render([new("user", "Hi"), new("assistant", "<think>\n\nplan\n\n</think>\n\nYo")], false));
        var noThink = ChatTemplate.ForFamily("qwen3");
        noThink.EnableThinking = false;
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", noThink.Render([new("user", "Hi")], true));
    }

    [Fact]
    public void FamiliesRenderKnownPrompts()
    {
        var conv = new List<ChatMessage> { new("system", "Be brief."), new("user", " Hi ") };
        Assert.Equal("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            ChatTemplate.ForFamily("llama3").Render(conv, true));
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
            ChatTemplate.ForFamily("qwen2").Render([new("user", "Hi")], true));
        Assert.Equal("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n Hi [/INST]", ChatTemplate.ForFamily("llama2").Render(conv, true));
        Assert.Contains("Today Date: 26 Jul 2024", ChatTemplate.ForFamily("llama3.1").Render(conv, false));
        var llama32 = ChatTemplate.FromJinja(File.ReadAllText(TemplatePath("llama3.1.jinja")).Replace("{%- if not date_string is defined %}",
            "{%- if not date_string is defined %}{%- if strftime_now is defined %}{%- set date_string = strftime_now(\"%d %b %Y\") %}{%- endif %}"));
        Assert.Equal(DateTime.Now.ToString("dd MMM yyyy", System.Globalization.CultureInfo.InvariantCulture), llama32.DateString);
        Assert.Equal(["<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"], ChatTemplate.ForFamily("llama3").StopTokens);
        Assert.Equal(["<|im_end|>", "<|endoftext|>"], ChatTemplate.ForFamily("qwen2").StopTokens);
    }

    [Fact]
    public void TemplateFromTokenizerConfigAndStopIds()
    {
        var t = ChatTemplate.FromTokenizerConfig(Path.Combine(TestAssets.TokenizerDir("qwen3"), "tokenizer_config.json"));
        Assert.Equal("qwen3", t.Family);
        var tok = TokenizerLoader.Load(TestAssets.TokenizerDir("qwen3"));
        Assert.Equal([151645, 151643], t.StopIds(tok));
        var l3 = ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir("llama3"));
        Assert.Equal("llama3", l3.Family);
        Assert.True(l3.AlwaysAddsGenerationPrompt);
        var l3tok = TokenizerLoader.Load(TestAssets.TokenizerDir("llama3"));
        Assert.Equal([128009, 128001], l3.StopIds(l3tok));   // this Llama-3 (not 3.1) vocabulary has no <|eom_id|>
    }

    [Fact]
    public void UnsupportedTemplatesAndMissingTemplatesAreClearErrors()
    {
        var e = Assert.Throws<FrSpecException>(() => ChatTemplate.FromJinja("{% for m in messages %}{{ m.content }}{% endfor %}", source: "x.json"));
        Assert.Contains("unsupported chat template", e.Message);
        Assert.Contains("x.json", e.Message);
        Assert.Throws<FrSpecException>(() => ChatTemplate.FromJinja("{{ bos_token }}{% for message in messages %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endfor %}"));
        var none = Assert.Throws<FrSpecException>(() => ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir("llama2")));
        Assert.Contains("no chat_template", none.Message);
        Assert.Throws<FrSpecException>(() => ChatTemplate.ForFamily("gemma"));
        var alt = Assert.Throws<FrSpecException>(() => ChatTemplate.ForFamily("llama2").Render([new("user", "a"), new("user", "b")], true));
        Assert.Contains("alternate", alt.Message);
    }
}
