using System.Diagnostics;
using FrSpec.Formats.Gguf;
using FrSpec.Fuzzing.Mutators;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Text;
using Xunit.Abstractions;

namespace FrSpec.Tests.Formats;

/// <summary>
/// Seeded, structure-aware mutations of valid GGUF files: header fields (counts, lengths, value and tensor types, dims,
/// offsets, alignment, version) set to boundary values, truncation, bit flips, inserted and deleted bytes. Every case
/// must either load (and then be usable: tensor bytes readable, the model runs a step, the tokenizer encodes) or fail
/// with a FrSpecException; no other exception, no hang (a watchdog bounds every case), and no allocation beyond a small
/// multiple of the file size.
/// </summary>
public class GgufFuzzTests(ITestOutputHelper output)
{
    private const int Cases = 300;
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(20);

    [Fact]
    public void MutatedHeadersOfASmallFileNeverCrash() =>
        Run(GgufFileTests.SmallFile(), seed: 1234, path => { using var f = GgufFile.Open(path); Touch(f); });

    [Theory]
    [InlineData("llama", 5678)]   // F16, tied head, rope_freqs, reordered q/k rows
    [InlineData("qwen", 8765)]    // Q4_K/Q6_K/Q4_0 mix, q/k/v biases, untied head, qwen2 tokenizer
    public void MutatedHeadersOfAModelFileNeverCrash(string family, int seed)
    {
        string gguf;
        if (family == "llama") gguf = GgufFixtures.Export(TestModels.TinyLlama(300), DType.F16).Gguf;
        else
        {
            var spec = TestModels.TinyQwen(300) with { HiddenSize = 256, IntermediateSize = 512 };
            gguf = GgufFixtures.Requantize(GgufFixtures.Export(spec, DType.F32).Gguf, GgufModelLoadTests.Mix);
        }
        Run(File.ReadAllBytes(gguf), seed, path =>
        {
            using (var f = GgufFile.Open(path)) Touch(f);
            using var m = Transformer.Load(path, EngineOptions.Default with { WeightMemory = WeightMemory.Mapped, Threads = 1 });
            var cache = m.CreateCache(4);
            var h = m.Forward(m.CreateState(), cache, [1, 2], [0, 1]).ToArray();
            var logits = new float[2 * m.Config.VocabSize];
            m.Head.Compute(h, 2, logits);
            var tok = TokenizerLoader.Load(path);
            tok.Decode(tok.Encode("hello t5 world <|begin|>", addSpecialTokens: true));
        });
    }

    /// <summary>Reads every metadata value through the typed accessors and the first and last byte of every tensor.</summary>
    private static unsafe void Touch(GgufFile f)
    {
        foreach (var key in f.Metadata.Keys) _ = f.Metadata.Raw(key);
        long dataLength = f.Length - f.DataStart;
        foreach (var t in f.Tensors)
        {
            Assert.True(t.Offset % f.Alignment == 0 && t.Offset + t.ByteCount <= dataLength, $"tensor '{t.Name}' outside the data section");
            byte* p = (byte*)f.DataPointer(t);
            _ = p[0] + p[t.ByteCount - 1];
        }
    }

    private void Run(byte[] valid, int seed, Action<string> load)
    {
        var map = new GgufFieldMap(valid);
        var rng = new Random(seed);
        string dir = TestModels.NewTempDir();
        string original = Path.Combine(dir, "valid.gguf");
        File.WriteAllBytes(original, valid);
        load(original);   // the unmutated file loads, so rejections come from the mutations
        var failures = new List<string>();
        int rejected = 0, loaded = 0;
        long maxAllocated = 0;
        string current = "";
        long caseStartTicks = 0;   // 0 until the first case starts: the watchdog times cases, not waiting for a thread
        var worker = Task.Factory.StartNew(() =>
        {
            for (int i = 0; i < Cases; i++)
            {
                var (bytes, what) = GgufMutator.Mutate(valid, map, rng);
                current = $"case {i}: {what}";
                Volatile.Write(ref caseStartTicks, Stopwatch.GetTimestamp());
                string path = Path.Combine(dir, $"case{i % 4}.gguf");
                File.WriteAllBytes(path, bytes);
                long before = GC.GetAllocatedBytesForCurrentThread();
                try { load(path); loaded++; }
                catch (FrSpecException e)
                {
                    rejected++;
                    if (e.Message.Contains('\n')) failures.Add($"{current}: multi-line message {e.Message}");
                }
                catch (Exception e) { failures.Add($"{current}: {e.GetType().Name}: {e.Message}"); }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                maxAllocated = Math.Max(maxAllocated, allocated);
                if (allocated > 16L * valid.Length + (32 << 20)) failures.Add($"{current}: allocated {allocated} bytes for a {bytes.Length}-byte file");
            }
        }, TaskCreationOptions.LongRunning);   // its own thread: the allocation count and the watchdog see only the cases
        while (!worker.Wait(100))
        {
            long start = Volatile.Read(ref caseStartTicks);
            Assert.True(start == 0 || Stopwatch.GetElapsedTime(start) < CaseLimit, $"{current} ran for over {CaseLimit.TotalSeconds} s (hang?)");
        }
        worker.GetAwaiter().GetResult();
        output.WriteLine($"{Cases} cases: {rejected} rejected with FrSpecException, {loaded} loaded; most allocated by one case {maxAllocated >> 10} KiB (file {valid.Length >> 10} KiB)");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
        Assert.True(rejected > Cases / 2, $"only {rejected} of {Cases} mutations were rejected: the mutations miss the header");
    }
}
