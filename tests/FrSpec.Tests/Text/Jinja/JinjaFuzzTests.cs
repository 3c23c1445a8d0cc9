using FrSpec.Text;

namespace FrSpec.Tests.Text.Jinja;

/// <summary>
/// Damaged templates (real chat templates with characters deleted, duplicated or replaced by Jinja syntax) and
/// expressions built from random tokens must render or fail with a FrSpecException, never another exception.
/// </summary>
public class JinjaFuzzTests
{
    private static readonly string[] Fragments =
    [
        "{{", "}}", "{%", "%}", "{#", "#}", "-", "+", "(", ")", "[", "]", "{", "}", "'", "\"", "|", ".", ",", ":", "~", "*", "**", "/", "//", "%",
        " if ", " else ", " for ", " in ", " not ", " is ", " and ", " or ", "endfor", "endif", "set ", "macro ", "loop", "namespace(", "none",
        "0", "1.5", "-1", "\\", "\n", "messages", "tojson", "trim", "length", "x", "=", "==", "<", ">",
    ];

    private static readonly List<ChatMessage> Conversation =
    [
        new("system", "S"), new("user", "Hi"), new("assistant", "<think>\nr\n</think>\n\nYo") { ToolCalls = [new ChatToolCall("f", "{\"a\": 1}")] },
        new("tool", "r") { ToolCallId = "c" }, new("user", "Again"),
    ];

    [Theory]
    [InlineData("qwen3", 1)]
    [InlineData("gemma3", 2)]
    [InlineData("deepseek_v3", 3)]
    [InlineData("llama3_1", 4)]
    public void MutatedTemplatesFailCleanlyOrRender(string package, int seed)
    {
        string original = ChatTemplateSource(package);
        var rng = new Random(seed);
        int rendered = 0;
        for (int k = 0; k < 300; k++)
        {
            var text = new System.Text.StringBuilder(original);
            int edits = 1 + rng.Next(4);
            for (int e = 0; e < edits && text.Length > 0; e++)
            {
                int at = rng.Next(text.Length);
                switch (rng.Next(3))
                {
                    case 0: text.Remove(at, Math.Min(1 + rng.Next(8), text.Length - at)); break;
                    case 1: text.Insert(at, Fragments[rng.Next(Fragments.Length)]); break;
                    default: text.Insert(at, text.ToString(at, Math.Min(rng.Next(20), text.Length - at))); break;
                }
            }
            if (TryRender(text.ToString(), rng.Next(2) == 0)) rendered++;
        }
        Assert.InRange(rendered, 1, 299); // some mutants still render, most do not: both paths are exercised
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    public void RandomExpressionsFailCleanlyOrRender(int seed)
    {
        var rng = new Random(seed);
        int rendered = 0;
        for (int k = 0; k < 2000; k++)
        {
            var expr = string.Concat(Enumerable.Range(0, 1 + rng.Next(8)).Select(_ => Fragments[rng.Next(Fragments.Length)]));
            if (TryRender("{{ " + expr + " }}", false)) rendered++;
        }
        Assert.InRange(rendered, 1, 1999);
    }

    private static string ChatTemplateSource(string package)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestAssets.TokenizerDir(package), "tokenizer_config.json")));
        return doc.RootElement.GetProperty("chat_template").GetString()!;
    }

    /// <summary>True when it rendered; false on a FrSpecException; any other exception fails the test.</summary>
    private static bool TryRender(string template, bool tools)
    {
        try
        {
            var t = ChatTemplate.FromJinja(template, "<s>", "</s>", "fuzz.jinja");
            t.Render(Conversation, true, tools ? ConversationGenerator.Tools : null);
            return true;
        }
        catch (FrSpecException e)
        {
            Assert.DoesNotContain('\n', e.Message);
            return false;
        }
    }
}
