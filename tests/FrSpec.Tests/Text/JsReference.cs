using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace FrSpec.Tests.Text;

/// <summary>Runs the JS reference scripts of tests/FrSpec.Tests/Text/js (HF tokenizers and Jinja of transformers.js) on one batch, in one node process.</summary>
internal static class JsReference
{
    /// <summary>The committed reference script (copied next to the test assembly).</summary>
    public static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "Text", "js", "reference.js");

    /// <summary>Runs the batch; <paramref name="writeInput"/> writes the members of the input object.</summary>
    public static JsonDocument Run(string nodeModules, string tokenizerDir, Action<StringBuilder> writeInput)
    {
        var sb = new StringBuilder("{");
        writeInput(sb);
        sb.Append('}');
        return RunScript(ScriptPath, nodeModules, sb.ToString(), tokenizerDir);
    }

    /// <summary>tests/FrSpec.Tests/Text/js/jinja-reference.js: @huggingface/jinja renders templates.</summary>
    public static string JinjaScriptPath => Path.Combine(AppContext.BaseDirectory, "Text", "js", "jinja-reference.js");

    /// <summary>Renders cases with @huggingface/jinja; <paramref name="inputJson"/> is jinja-reference.js's input.</summary>
    public static JsonDocument RunJinja(string nodeModules, string inputJson) => RunScript(JinjaScriptPath, nodeModules, inputJson);

    /// <summary>Runs `node SCRIPT [first] INPUT OUTPUT` with NODE_PATH set, and returns OUTPUT's JSON.</summary>
    private static JsonDocument RunScript(string script, string nodeModules, string inputJson, string? firstArgument = null)
    {
        var work = Path.Combine(Path.GetTempPath(), "frspec-js-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var input = Path.Combine(work, "in.json");
            var output = Path.Combine(work, "out.json");
            File.WriteAllText(input, inputJson, new UTF8Encoding(false));
            string args = (firstArgument is null ? "" : $"\"{firstArgument}\" ") + $"\"{input}\" \"{output}\"";
            var psi = new ProcessStartInfo(TestAssets.FindOnPath("node")!, $"\"{script}\" {args}")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            psi.Environment["NODE_PATH"] = nodeModules;
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var outText = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException($"node {Path.GetFileName(script)} took over 5 minutes"); }
            Assert.True(p.ExitCode == 0, $"node {Path.GetFileName(script)} failed: {err.Result}{outText.Result}");
            return JsonDocument.Parse(File.ReadAllBytes(output));
        }
        finally { try { Directory.Delete(work, true); } catch { } }
    }

    /// <summary>A JSON string literal that keeps lone surrogates (as \uXXXX escapes, which JS reads back unchanged).</summary>
    public static void String(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            if (c is >= ' ' and <= '~' && c != '"' && c != '\\') sb.Append(c);
            else sb.Append("\\u").Append(((int)c).ToString("x4"));
        }
        sb.Append('"');
    }

    public static void StringArray(StringBuilder sb, string name, IEnumerable<string> items)
    {
        sb.Append('"').Append(name).Append("\":[");
        bool first = true;
        foreach (var s in items) { if (!first) sb.Append(','); String(sb, s); first = false; }
        sb.Append(']');
    }

    public static void IdArrays(StringBuilder sb, string name, IEnumerable<int[]> items)
        => sb.Append('"').Append(name).Append("\":").Append(JsonSerializer.Serialize(items));

    /// <summary>Printable form of a string for assertion messages.</summary>
    public static string Show(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s.Length > 300 ? s[..300] + "…" : s)
            sb.Append(c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:x4}");
        return sb.ToString();
    }
}
