using System.Text;
using FrSpec.Text;

namespace FrSpec.Tests.Text;

public class StreamingDecoderTests
{
    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("llama2")]
    public void PushingValidTextGivesItBackWithoutBrokenCharacters(string name)
    {
        var tok = TokenizerLoader.Load(TestAssets.TokenizerDir(name));
        var gen = new TextGenerator(11);
        for (int k = 0; k < 300; k++)
        {
            var text = gen.Next().Replace("\uD800", "").Replace("\uDC00", "").Replace("\uDBFF", "").Replace("\uDFFF", "");
            text = new string(text.Where((c, i) => !char.IsSurrogate(c) || (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) || (char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(text[i - 1]))).ToArray());
            var ids = tok.Encode(text);
            var stream = new StreamingDecoder(tok);
            var sb = new StringBuilder();
            foreach (var id in ids)
            {
                var piece = stream.Push(id);
                Assert.DoesNotContain('\uFFFD', piece);
                sb.Append(piece);
            }
            sb.Append(stream.Flush());
            Assert.Equal(Encoding.UTF8.GetString(tok.DecodeToBytes(ids)), sb.ToString());
        }
    }

    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("llama2")]
    public void ArbitraryIdsStreamToTheLossyDecodingOfTheirBytes(string name)
    {
        var tok = TokenizerLoader.Load(TestAssets.TokenizerDir(name));
        var rng = new Random(5);
        var byteIds = Enumerable.Range(0, 256).Select(b => tok.TokenToId($"<0x{b:X2}>")).OfType<int>().ToArray();
        for (int k = 0; k < 500; k++)
        {
            var ids = Enumerable.Range(0, 1 + rng.Next(20))
                .Select(_ => byteIds.Length > 0 && rng.Next(2) == 0 ? byteIds[rng.Next(byteIds.Length)] : rng.Next(tok.VocabSize))
                .ToArray();
            foreach (bool skip in new[] { false, true })
            {
                var stream = new StreamingDecoder(tok, skip);
                var sb = new StringBuilder();
                foreach (var id in ids)
                {
                    var piece = stream.Push(id);
                    Assert.False(piece.Any(char.IsSurrogate) && !IsWellFormed(piece), "broken UTF-16 in a streamed piece");
                    sb.Append(piece);
                }
                sb.Append(stream.Flush());
                Assert.Equal(Encoding.UTF8.GetString(tok.DecodeToBytes(ids, skip)), sb.ToString());
            }
        }
    }

    [Fact]
    public void SplitEmojiIsHeldBackUntilComplete()
    {
        var tok = TokenizerLoader.Load(TestAssets.TokenizerDir("llama2"));
        // 😀 = F0 9F 98 80 as four byte-fallback tokens.
        var ids = new[] { 0xF0, 0x9F, 0x98, 0x80 }.Select(b => tok.TokenToId($"<0x{b:X2}>")!.Value).ToArray();
        var stream = new StreamingDecoder(tok);
        Assert.Equal("", stream.Push(ids[0]));
        Assert.Equal("", stream.Push(ids[1]));
        Assert.Equal("", stream.Push(ids[2]));
        Assert.Equal("😀", stream.Push(ids[3]));
        // A lead byte followed by a non-continuation is emitted as U+FFFD at once, never dropped.
        Assert.Equal("", stream.Push(ids[0]));
        Assert.Equal("\uFFFDA", stream.Push(tok.TokenToId("<0x41>")!.Value));
        Assert.Equal("", stream.Push(ids[0]));
        Assert.Equal("\uFFFD", stream.Flush());
    }

    [Fact]
    public void SentencePieceLeadingSpaceIsStrippedOnlyAtTheStart()
    {
        var tok = TokenizerLoader.Load(TestAssets.TokenizerDir("llama2"));
        var ids = tok.Encode("Hello world, how are you?");
        var stream = new StreamingDecoder(tok);
        var text = string.Concat(ids.Select(stream.Push)) + stream.Flush();
        Assert.Equal("Hello world, how are you?", text);
        Assert.Equal(tok.Decode(ids), text);
    }

    private static bool IsWellFormed(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(s[i])) return false;
        }
        return true;
    }
}
