using System.Text;
using System.Text.Json.Nodes;
using FrSpec.Fuzzing.Mutators;
using FrSpec.Sessions;
using FrSpec.Text;

namespace FrSpec.Fuzzing.Targets;

/// <summary>
/// tokenizer_config.json: special tokens and the Jinja chat template (damaged as text and as a tree of tags). The
/// model's token side is loaded, and a conversation is rendered and encoded.
/// </summary>
public sealed class TokenizerConfigTarget : FuzzTarget
{
    private static readonly JsonMutator TokenizerConfig = new(new Dictionary<string, JsonNode?[]>
    {
        ["bos_token"] = ["", "<|im_start|>", "not a token", new JsonObject { ["content"] = 5 }, new JsonObject(), 296],
        ["eos_token"] = ["", "<|end_of_text|>", "nope", new JsonObject { ["content"] = "<|im_end|>" }, new JsonArray("<|im_end|>")],
        ["pad_token"] = [null, "zzz"],
        ["clean_up_tokenization_spaces"] = [true, "no"],
        ["chat_template"] = [null, "", "{{ messages }}", "{% for m in messages %}{{ m.content }}{% endfor %}", new JsonArray(),
            new JsonArray(new JsonObject { ["name"] = "default", ["template"] = "{{ bos_token }}" }), new JsonArray(new JsonObject { ["name"] = "tool_use" }), 5],
    });

    /// <summary>Fragments that make templates loop, recurse, nest, or call what they should not.</summary>
    private static readonly string[] TemplateFragments =
    [
        "{%", "%}", "{{", "}}", "{#", "#}", "{% endfor %}", "{% endif %}", "{% else %}", "{% for x in range(1000000000) %}", "{% for m in messages * 100000 %}",
        "{{ messages[0]['content'] * 100000000 }}", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "{{ raise_exception('boom') }}", "{{ 1/0 }}",
        "{{ x.__class__.__mro__ }}", "{{ cycler }}", "{% set ns = namespace(a=1) %}", "{{ messages|tojson }}", "{{ '%s' % messages }}", "{{ loop.index }}",
        "{% include 'x' %}", "{% import 'os' as os %}", "{{ range(-1) }}", "{{ [0]*99999999 }}", "|trim", "|upper", "'", "\"", "(", ")", "[", "]",
    ];

    public override string Name => "tokenizer-config";
    public override string Description => "tokenizer_config.json (special tokens, Jinja chat template): load the token side, render and encode a chat";

    public override void WriteSeed(string dir)
    {
        FuzzSeeds.WriteTokenizer(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), Synthesis.ModelSynthesizer.ConfigJson(FuzzSeeds.ModelSpec, Numerics.DType.F32));
    }

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng)
    {
        var bytes = seed["tokenizer_config.json"];
        if (rng.Next(2) == 0) return One("tokenizer_config.json", TokenizerConfig.Mutate(bytes, rng));
        var root = JsonNode.Parse(bytes)!.AsObject();
        string template = root["chat_template"]!.GetValue<string>();
        int at = rng.Next(template.Length + 1);
        string what;
        switch (rng.Next(3))
        {
            case 0:
                string fragment = TemplateFragments[rng.Next(TemplateFragments.Length)];
                template = template.Insert(at, fragment);
                what = $"'{fragment}' inserted at {at}";
                break;
            case 1:
                int n = Math.Min(1 + rng.Next(12), template.Length - at);
                template = template.Remove(at, n);
                what = $"{n} characters deleted at {at}";
                break;
            default:
                template = template[..at];
                what = $"cut at {at}";
                break;
        }
        root["chat_template"] = template;
        return new FuzzCase(new Dictionary<string, byte[]?> { ["tokenizer_config.json"] = Encoding.UTF8.GetBytes(root.ToJsonString()) }, $"chat template: {what}");
    }

    public override void Exercise(string dir)
    {
        var vocabulary = ModelVocabulary.Load(dir);
        TokenizerTarget.Use(vocabulary.Tokenizer!);
        _ = vocabulary.StopTokens.Count + vocabulary.ControlIds.Count;
        if (vocabulary.ChatTemplate is null) return;
        ChatMessage[] chat = [new("system", "Be brief."), new("user", "hello"), new("assistant", "hi"), new("user", "the end")];
        vocabulary.Decode(vocabulary.EncodeChat(chat));
        vocabulary.EncodeChat(chat[1..2], addGenerationPrompt: false);
    }
}
