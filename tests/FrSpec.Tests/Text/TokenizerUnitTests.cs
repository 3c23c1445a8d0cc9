using System.Text;
using System.Text.RegularExpressions;
using FrSpec.Text;

namespace FrSpec.Tests.Text;

public class TokenizerUnitTests
{
    private static string RandomText(Random rng, string alphabet, int maxLen)
    {
        var sb = new StringBuilder();
        int n = rng.Next(maxLen);
        for (int i = 0; i < n; i++)
        {
            if (rng.Next(8) == 0) sb.Append(rng.Next(3) switch { 0 => "'re", 1 => "'S", _ => "'ll" });
            else sb.Append(alphabet[rng.Next(alphabet.Length)]);
        }
        return sb.ToString();
    }

    [Theory]
    [InlineData(PatternSplitter.Llama3Pattern)]
    [InlineData(PatternSplitter.Qwen2Pattern)]
    [InlineData(PatternSplitter.Gpt2Pattern)]
    public void HandWrittenSplittersMatchTheRegexOnBmpText(string pattern)
    {
        // .NET Regex works on UTF-16 units, so the comparison uses BMP text; astral text is covered by the JS parity test.
        var regex = new Regex(pattern, RegexOptions.CultureInvariant);
        var splitter = PatternSplitter.ForRegex(pattern);
        Assert.IsNotType<RegexSplitter>(splitter);
        const string alphabet = "abcXYZéß漢字한 \t\n\r\u00A0\u3000\u2028'sStTmMdDrRvVlLe0123456789٣½Ⅻ.,!?-_\"()[]{}<>#@/\\\u0301\u093E";
        var rng = new Random(7);
        for (int k = 0; k < 20000; k++)
        {
            var s = RandomText(rng, alphabet, 40);
            var expected = regex.Matches(s).Select(m => (m.Index, m.Length)).ToList();
            var got = new List<(int, int)>();
            splitter.Matches(s, got);
            Assert.True(expected.SequenceEqual(got), $"\"{JsReference.Show(s)}\": regex [{string.Join(" ", expected)}] hand-written [{string.Join(" ", got)}]");
        }
    }

    [Fact]
    public void HeapMergeEqualsScanMergeOnLongWords()
    {
        var tok = (HfTokenizer)TokenizerLoader.Load(TestAssets.TokenizerDir("llama3"));
        var rng = new Random(3);
        var map = ByteLevelMap.ByteToChar;
        for (int k = 0; k < 300; k++)
        {
            var word = RandomText(rng, "aaabbbccc  eettthhh..\n", 200);
            var ids = Encoding.UTF8.GetBytes(word).Select(b => tok.Model.TokenToId(map[b].ToString())!.Value).ToList();
            var viaHeap = new List<int>(ids);
            tok.Model.MergeWithHeap(viaHeap);
            var viaScan = new List<int>(ids);
            tok.Model.MergeByScanForTest(viaScan);
            Assert.Equal(viaScan, viaHeap);
        }
    }

    [Theory]
    [InlineData("e\u0301", "\u00E9")]
    [InlineData("A\u030A", "\u00C5")]
    [InlineData("\u212B", "\u00C5")]                       // singleton decomposition (excluded from composition)
    [InlineData("\u1E9B\u0323", "\u1E9B\u0323")]           // UAX #15 example: stays as is in NFC
    [InlineData("a\u0323\u0302", "\u1EAD")]                 // canonical reordering then composition
    [InlineData("a\u0302\u0323", "\u1EAD")]
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]           // Hangul jamo compose algorithmically
    [InlineData("\uAC00\u11A8", "\uAC01")]
    [InlineData("\u0958", "\u0915\u093C")]                 // composition exclusion
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("x\uD800y\u0301", "x\uD800\u00FD")]        // lone surrogate kept
    [InlineData("\u0301a", "\u0301a")]                      // leading combining mark
    public void NfcMatchesKnownForms(string input, string nfc) => Assert.Equal(nfc, UnicodeNormalizer.Nfc(input));

    [Fact]
    public void NfdDecomposesAndOrders()
    {
        Assert.Equal("a\u0323\u0302", UnicodeNormalizer.Nfd("\u1EAD"));
        Assert.Equal("\u1100\u1161\u11A8", UnicodeNormalizer.Nfd("\uAC01"));
    }

    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("llama2")]
    public void ConcurrentEncodingEqualsSequential(string name)
    {
        var tok = TokenizerLoader.Load(TestAssets.TokenizerDir(name));
        var gen = new TextGenerator(21);
        var texts = Enumerable.Range(0, 2000).Select(_ => gen.Next()).ToArray();
        var sequential = texts.Select(t => tok.Encode(t)).ToArray();
        var fresh = TokenizerLoader.Load(TestAssets.TokenizerDir(name));
        var parallel = new int[texts.Length][];
        Parallel.For(0, texts.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => parallel[i] = fresh.Encode(texts[i]));
        for (int i = 0; i < texts.Length; i++) Assert.Equal(sequential[i], parallel[i]);
        var appended = new List<int> { -7 };
        fresh.EncodeTo(texts[0], appended, addSpecialTokens: true);
        Assert.Equal(new[] { -7 }.Concat(fresh.Encode(texts[0], addSpecialTokens: true)), appended);
    }

    [Fact]
    public void BosEosSpecialsAndLookupsComeFromTheFiles()
    {
        var l3 = TokenizerLoader.Load(TestAssets.TokenizerJson("llama3"));
        Assert.Equal(128256, l3.VocabSize);
        Assert.Equal(128000, l3.BosId);
        Assert.Equal(128001, l3.EosId);
        Assert.Equal(128009, l3.TokenToId("<|eot_id|>"));
        Assert.True(l3.IsSpecial(128009));
        Assert.False(l3.IsSpecial(9906));
        Assert.Equal(256, l3.SpecialIds.Count);
        Assert.Equal("Hello", l3.IdToToken(9906));
        Assert.Null(l3.IdToToken(-1));
        Assert.Null(l3.IdToToken(l3.VocabSize));

        var q = TokenizerLoader.Load(TestAssets.TokenizerDir("qwen3"));
        Assert.Null(q.BosId);
        Assert.Equal(151645, q.EosId);
        Assert.False(q.IsSpecial(q.TokenToId("<think>")!.Value));   // added but not special
        Assert.Equal("<think>", q.Decode([q.TokenToId("<think>")!.Value], skipSpecialTokens: true));

        var l2 = TokenizerLoader.Load(TestAssets.TokenizerDir("llama2"));
        Assert.Equal(1, l2.BosId);
        Assert.Equal(2, l2.EosId);
        var ids = l2.Encode("Hello world", addSpecialTokens: true);
        Assert.Equal(1, ids[0]);
        Assert.Equal("Hello world", l2.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("<s> Hello world", l2.Decode(ids));
    }

    [Fact]
    public void IgnoreMergesKeepsWholeVocabularyWords()
    {
        // Llama-3 has ignore_merges: " việc" is a vocabulary token that plain BPE merging would split in three.
        var tok = TokenizerLoader.Load(TestAssets.TokenizerDir("llama3"));
        Assert.Equal([100769], tok.Encode(" việc"));
    }

    [Fact]
    public void SpecialTokenTextIsOneTokenAndDecodesBack()
    {
        var tok = TokenizerLoader.Load(TestAssets.TokenizerDir("llama3"));
        var ids = tok.Encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
        Assert.Equal([128006, 882, 128007, 271, 13347, 128009], ids);
        Assert.Equal("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", tok.Decode(ids));
        Assert.Equal("user\n\nHi", tok.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void BadFilesGiveErrorsNamingTheFileAndField()
    {
        var dir = Path.Combine(Path.GetTempPath(), "frspec-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var f = Path.Combine(dir, "tokenizer.json");
            Assert.Contains("no tokenizer.json", Assert.Throws<FrSpecException>(() => TokenizerLoader.Load(dir)).Message);
            File.WriteAllText(f, "{ not json");
            Assert.Contains("not valid JSON", Assert.Throws<FrSpecException>(() => TokenizerLoader.Load(f)).Message);
            File.WriteAllText(f, "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
            Assert.Contains("model.type 'Unigram'", Assert.Throws<FrSpecException>(() => TokenizerLoader.Load(f)).Message);
            File.WriteAllText(f, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}}");
            Assert.Contains("model.vocab[\"a\"]", Assert.Throws<FrSpecException>(() => TokenizerLoader.Load(f)).Message);
            File.WriteAllText(f, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a\"]}}");
            Assert.Contains("model.merges", Assert.Throws<FrSpecException>(() => TokenizerLoader.Load(f)).Message);
            File.WriteAllText(f, "{\"normalizer\": {\"type\": \"Precompiled\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}");
            var e = Assert.Throws<FrSpecException>(() => TokenizerLoader.Load(f));
            Assert.Contains("normalizer type 'Precompiled'", e.Message);
            Assert.Contains(f, e.Message);
            // A minimal valid file works.
            File.WriteAllText(f, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}}");
            var tok = TokenizerLoader.Load(f);
            Assert.Equal([2, 0], tok.Encode("aba"));
        }
        finally { Directory.Delete(dir, true); }
    }
}
