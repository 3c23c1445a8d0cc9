using FrSpec.Cli.Support;
using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using FrSpec.Text;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec tokenize`: text on stdin to token ids (a JSON array), or back with --decode. With --jsonl every line is one
/// JSON string (or, with --decode, one JSON array) and one result is printed per line.
/// </summary>
public sealed class TokenizeCommand : ICliVerb
{
    public Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer.json or a model directory holding one", Required = true };
        var addSpecial = new Option<bool>("--add-special") { Description = "add the post-processor's special tokens (e.g. BOS), as HF add_special_tokens=True" };
        var jsonl = new Option<bool>("--jsonl") { Description = "one JSON string (or with --decode one JSON array) per input line, one result per output line" };
        var decode = new Option<bool>("--decode") { Description = "read JSON id arrays and print the text" };
        var skipSpecial = new Option<bool>("--skip-special") { Description = "with --decode: leave special tokens out of the text" };
        var cmd = new Command("tokenize", "Encode stdin text to token ids as a JSON array (or decode ids with --decode), with Hugging Face semantics");
        cmd.Options.Add(tokenizer);
        cmd.Options.Add(addSpecial);
        cmd.Options.Add(jsonl);
        cmd.Options.Add(decode);
        cmd.Options.Add(skipSpecial);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var tok = TokenizerLoader.Load(pr.GetValue(tokenizer)!);
            // Exact bytes in and out: no BOM detection, no BOM written.
            using var input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false);
            using var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
            Run(tok, input, output, pr.GetValue(addSpecial), pr.GetValue(jsonl), pr.GetValue(decode), pr.GetValue(skipSpecial));
            output.Flush();
            return 0;
        }));
        return cmd;
    }

    private static readonly JsonSerializerOptions JsonOut = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The verb's work on given streams (tested directly).</summary>
    public static void Run(ITokenizer tok, TextReader input, TextWriter output, bool addSpecial, bool jsonl, bool decode, bool skipSpecial)
    {
        if (!jsonl)
        {
            var all = input.ReadToEnd();
            if (decode) output.Write(tok.Decode(ParseIds(all, "stdin", tok), skipSpecial));
            else output.WriteLine(IdsJson(tok.Encode(all, addSpecial)));
            return;
        }
        int lineNo = 0;
        while (input.ReadLine() is { } line)
        {
            lineNo++;
            if (line.Length == 0) continue;
            if (decode)
            {
                output.WriteLine(JsonSerializer.Serialize(tok.Decode(ParseIds(line, $"stdin line {lineNo}", tok), skipSpecial), JsonOut));
                continue;
            }
            string text;
            try { text = JsonSerializer.Deserialize<string>(line) ?? throw new JsonException("null"); }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new FrSpecException($"stdin line {lineNo}: not a JSON string ({e.Message})");
            }
            output.WriteLine(IdsJson(tok.Encode(text, addSpecial)));
        }
    }

    private static string IdsJson(int[] ids)
    {
        var sb = new StringBuilder(ids.Length * 7 + 2).Append('[');
        for (int i = 0; i < ids.Length; i++) { if (i > 0) sb.Append(','); sb.Append(ids[i]); }
        return sb.Append(']').ToString();
    }

    private static int[] ParseIds(string json, string where, ITokenizer tok)
    {
        int[]? ids;
        try { ids = JsonSerializer.Deserialize<int[]>(json); }
        catch (JsonException e) { throw new FrSpecException($"{where}: not a JSON array of integer ids ({e.Message})"); }
        if (ids is null) throw new FrSpecException($"{where}: not a JSON array of integer ids");
        foreach (var id in ids)
            if (id < 0 || id >= tok.VocabSize) throw new FrSpecException($"{where}: id {id} is outside the vocabulary (0..{tok.VocabSize - 1})");
        return ids;
    }
}
