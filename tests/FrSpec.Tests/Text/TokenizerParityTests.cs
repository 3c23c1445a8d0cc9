using System.Text;
using System.Text.Json;
using FrSpec.Text;
using Xunit.Abstractions;

namespace FrSpec.Tests.Text;

/// <summary>
/// Encode/decode parity with the JS port of HF tokenizers (@lenml/tokenizers under node) on thousands of generated
/// strings and id sequences per tokenizer. Runs whenever node is on PATH (CI has it).
/// </summary>
public class TokenizerParityTests(ITestOutputHelper output)
{
    private const int Strings = 2500;

    [Theory]
    [InlineData("llama3", 1)]
    [InlineData("qwen3", 2)]
    [InlineData("llama2", 3)]
    [InlineData("llama2-metaspace", 4)]
    public void EncodeAndDecodeMatchReference(string name, int seed)
    {
        var nodeModules = TestAssets.NodeReference();
        if (nodeModules is null) { output.WriteLine("node not on PATH: parity test has no reference and checks nothing"); return; }
        var dir = name == "llama2-metaspace" ? MetaspaceVariant() : TestAssets.TokenizerDir(name);
        var tok = TokenizerLoader.Load(dir);

        var gen = new TextGenerator(seed);
        var texts = Enumerable.Range(0, Strings).Select(_ => gen.Next()).ToList();
        texts.AddRange(["", " ", "\n", "a", "  leading", "trailing  ", "<s>", "<|eot_id|><|eot_id|>", "x<|im_end|>\n",
            new string(' ', 1000) + "x", new string('!', 3000), string.Concat(Enumerable.Repeat("ab", 2000)),
            string.Join(" ", Enumerable.Repeat("hello world", 500))]);
        var special = texts.Take(300).ToList();
        var decodeSeqs = DecodeSequences(tok, texts, new Random(seed)).ToList();
        var skipSeqs = decodeSeqs.Take(400).ToList();

        using var js = JsReference.Run(nodeModules, dir, sb =>
        {
            JsReference.StringArray(sb, "encode", texts); sb.Append(',');
            JsReference.StringArray(sb, "encodeSpecial", special); sb.Append(',');
            JsReference.IdArrays(sb, "decode", decodeSeqs); sb.Append(',');
            JsReference.IdArrays(sb, "decodeSkip", skipSeqs);
        });
        var root = js.RootElement;
        var failures = new List<string>();
        Compare(failures, "encode", texts, root.GetProperty("encode"), t => tok.Encode(t));
        Compare(failures, "encode+special", special, root.GetProperty("encodeSpecial"), t => tok.Encode(t, addSpecialTokens: true));
        CompareDecode(failures, tok, "decode", decodeSeqs, root.GetProperty("decode"), false);
        CompareDecode(failures, tok, "decode(skip)", skipSeqs, root.GetProperty("decodeSkip"), true);
        if (name == "llama2-metaspace") { try { Directory.Delete(dir, true); } catch (IOException) { } }
        output.WriteLine($"{name}: {texts.Count + special.Count} encodes, {decodeSeqs.Count + skipSeqs.Count} decodes compared; {failures.Count} mismatches");
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches with the JS reference, first ones:\n" + string.Join("\n", failures.Take(8)));
    }

    /// <summary>
    /// The llama2 file rewritten the newer SentencePiece way (Mistral v0.3 style): no normalizer, a Metaspace
    /// pre-tokenizer that prepends ▁ to the first section only and does not split (the JS port cannot split).
    /// </summary>
    private static string MetaspaceVariant()
    {
        var src = TestAssets.TokenizerDir("llama2");
        var dir = Path.Combine(Path.GetTempPath(), "frspec-metaspace-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(src, "tokenizer.json")))!.AsObject();
        root["normalizer"] = null;
        root["pre_tokenizer"] = System.Text.Json.Nodes.JsonNode.Parse(
            "{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"add_prefix_space\": true, \"prepend_scheme\": \"first\", \"split\": false}");
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), root.ToJsonString());
        File.Copy(Path.Combine(src, "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"));
        return dir;
    }

    private static void Compare(List<string> failures, string what, List<string> inputs, JsonElement expected, Func<string, int[]> encode)
    {
        Assert.Equal(inputs.Count, expected.GetArrayLength());
        for (int i = 0; i < inputs.Count; i++)
        {
            var want = expected[i].EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var got = encode(inputs[i]);
            if (!want.SequenceEqual(got))
                failures.Add($"{what} \"{JsReference.Show(inputs[i])}\": js [{string.Join(",", want)}] frspec [{string.Join(",", got)}]");
        }
    }

    private static void CompareDecode(List<string> failures, ITokenizer tok, string what, List<int[]> inputs, JsonElement expected, bool skip)
    {
        Assert.Equal(inputs.Count, expected.GetArrayLength());
        for (int i = 0; i < inputs.Count; i++)
        {
            var want = expected[i].GetString()!;
            var got = tok.Decode(inputs[i], skip);
            // The raw bytes, decoded the usual lossy way, must give the reference text too.
            var viaBytes = Encoding.UTF8.GetString(tok.DecodeToBytes(inputs[i], skip));
            if (((HfTokenizer)tok).CleanUpTokenizationSpaces) viaBytes = HfTokenizer.CleanUp(viaBytes);
            if (viaBytes != want)
                failures.Add($"{what} bytes [{string.Join(",", inputs[i])}]: js \"{JsReference.Show(want)}\" frspec \"{JsReference.Show(viaBytes)}\"");
            if (want == got) continue;
            // Known difference: a run of <0xNN> byte-fallback tokens that is not valid UTF-8 becomes one U+FFFD per byte
            // in HF tokenizers (Rust), valid bytes of the run included; the JS port replaces maximal invalid subsequences
            // only. We follow HF; the byte path above is checked against JS exactly.
            if (got.Contains('\uFFFD') && inputs[i].Any(id => tok.IdToToken(id) is { Length: 6 } t && t.StartsWith("<0x")))
                continue;
            failures.Add($"{what} [{string.Join(",", inputs[i])}]: js \"{JsReference.Show(want)}\" frspec \"{JsReference.Show(got)}\"");
        }
    }

    /// <summary>Id sequences to decode: encodings cut at random places (broken UTF-8), random ids, special ids, byte tokens.</summary>
    private static IEnumerable<int[]> DecodeSequences(ITokenizer tok, List<string> texts, Random rng)
    {
        int RandomId()
        {
            while (true)
            {
                int id = rng.Next(tok.VocabSize);
                if (tok.IdToToken(id) is not null) return id;
            }
        }
        var byteIds = Enumerable.Range(0, 256).Select(b => tok.TokenToId($"<0x{b:X2}>")).Where(i => i.HasValue).Select(i => i!.Value).ToArray();
        for (int k = 0; k < 2000; k++)
        {
            int[] seq;
            switch (k % 4)
            {
                case 0:
                case 1:
                    var ids = tok.Encode(texts[rng.Next(texts.Count)]);
                    if (ids.Length == 0) ids = [RandomId()];
                    int a = rng.Next(ids.Length), b = rng.Next(a, ids.Length) + 1;
                    seq = ids[a..b];
                    break;
                case 2:
                    seq = Enumerable.Range(0, 1 + rng.Next(12)).Select(_ => RandomId()).ToArray();
                    break;
                default:
                    seq = Enumerable.Range(0, 1 + rng.Next(10)).Select(_ => byteIds.Length > 0 && rng.Next(2) == 0
                        ? byteIds[rng.Next(byteIds.Length)]
                        : tok.SpecialIds.Count > 0 && rng.Next(4) == 0 ? tok.SpecialIds[rng.Next(tok.SpecialIds.Count)] : RandomId()).ToArray();
                    break;
            }
            yield return seq;
        }
    }
}
