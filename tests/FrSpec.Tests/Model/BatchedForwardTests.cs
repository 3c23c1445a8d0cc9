using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Tests.Numerics;

namespace FrSpec.Tests.Model;

/// <summary>
/// Continuous batching's pass: decode steps of independent sequences run as the rows of one pass, each row with its own
/// KV cache, position and attention, must give every sequence exactly (bit for bit) the hidden states of its own
/// one-token pass, whatever else is in the batch — on every kernel path and precision, for f32 and bf16 weights.
/// </summary>
public class BatchedForwardTests
{
    public static TheoryData<string, DType, string, Precision> Cases()
    {
        var d = new TheoryData<string, DType, string, Precision>();
        foreach (var path in KernelPaths.Names)
            foreach (var precision in Enum.GetValues<Precision>())
            {
                d.Add("llama", DType.F32, path, precision);
                d.Add("qwen", DType.BF16, path, precision);
            }
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void EveryRowEqualsItsSequenceAlone(string family, DType type, string path, Precision precision)
    {
        if (KernelPaths.Get(path, precision) is not { } compute) return; // this CPU cannot run that path
        var spec = family == "llama" ? TestModels.TinyLlama() : TestModels.TinyQwen();
        using var model = Transformer.Load(TestModels.Dir(spec, type), compute.Options with { Threads = 2 });
        int hidden = model.Config.HiddenSize, sequences = 5;
        var random = new Random(3);
        var alone = new KvCache[sequences];
        var batched = new KvCache[sequences];
        var state = model.CreateState();
        var last = new int[sequences];
        var position = new int[sequences];
        for (int s = 0; s < sequences; s++)
        {
            int length = 1 + 3 * s; // different context lengths in one batch
            var prompt = Enumerable.Range(0, length).Select(_ => random.Next(spec.VocabSize)).ToArray();
            alone[s] = model.CreateCache(64);
            batched[s] = model.CreateCache(64);
            foreach (var cache in new[] { alone[s], batched[s] })
            {
                model.Forward(state, cache, prompt, Enumerable.Range(0, length).ToArray());
                cache.CommitAll();
            }
            last[s] = random.Next(spec.VocabSize);
            position[s] = length;
        }

        var batch = new BatchedForward(model);
        for (int step = 0; step < 6; step++)
        {
            // the batch shrinks and changes order over the steps: rows must not depend on their neighbours
            var rows = Enumerable.Range(0, sequences).Where(s => step < 3 || s % 2 == 0).Reverse().ToArray();
            var hiddenBatched = batch.Step(rows.Select(s => batched[s]).ToArray(), rows.Select(s => last[s]).ToArray(), rows.Select(s => position[s]).ToArray()).ToArray();
            for (int r = 0; r < rows.Length; r++)
            {
                int s = rows[r];
                var single = model.Forward(state, alone[s], [last[s]], [position[s]]).ToArray();
                alone[s].CommitAll();
                Assert.Equal(alone[s].Count, batched[s].Count);
                for (int i = 0; i < hidden; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(single[i]) == BitConverter.SingleToInt32Bits(hiddenBatched[r * hidden + i]),
                        $"step {step}, sequence {s}, element {i}: alone {single[i]:R}, batched {hiddenBatched[r * hidden + i]:R}");
                last[s] = (last[s] * 31 + step + 7) % spec.VocabSize;
                position[s]++;
            }
        }
    }

    [Fact]
    public void LogitsOfABatchEqualOneRowAtATime()
    {
        using var model = Transformer.Load(TestModels.Dir(TestModels.TinyQwen(), DType.BF16));
        int hidden = model.Config.HiddenSize, vocab = model.Config.VocabSize, rows = 7;
        var random = new Random(5);
        var h = Enumerable.Range(0, rows * hidden).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var together = new float[rows * vocab];
        model.Head.Compute(h, rows, together);
        var one = new float[vocab];
        for (int r = 0; r < rows; r++)
        {
            model.Head.Compute(h.AsSpan(r * hidden, hidden), 1, one);
            Assert.Equal(one, together.AsSpan(r * vocab, vocab).ToArray());
        }
    }
}
