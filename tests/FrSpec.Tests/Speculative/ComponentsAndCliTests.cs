using FrSpec.Benchmarks;
using FrSpec.Formats.Torch;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;

namespace FrSpec.Tests.Speculative;

public class ComponentsAndCliTests
{
    [Fact]
    public void SynthEagleCliWritesLoadableHeadsInBothFormats()
    {
        string target = TinyModels.Target("qwen2", false, 81);
        foreach (var format in new[] { "bin", "safetensors" })
        {
            string dir = TinyModels.NewDir("cli-" + format);
            int rc = FrSpec.Cli.Program.BuildRoot().Parse(["synth-eagle", "--model", target, "--out", dir, "--format", format, "--seed", "4"]).Invoke();
            Assert.Equal(0, rc);
            Assert.True(File.Exists(Path.Combine(dir, format == "bin" ? "pytorch_model.bin" : "model.safetensors")));
            using var t = Transformer.Load(target);
            using var head = EagleHead.Load(dir, t.Config);
            Assert.NotNull(head.FcBias);
        }
    }

    [Fact]
    public void ComponentBenchmarksReportEveryVariant()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", true, 82));
        var target = model.Target;
        var head = model.EagleHead(TinyModels.Head(target.Directory, 83));
        var steps = SpeculationComponents.DraftSteps(target, head, [("full", null), ("first 64", model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 64)))], rows: 4, context: 20, repeats: 2);
        Assert.Equal([512, 64], steps.Select(s => s.VocabRows));
        Assert.All(steps, s => Assert.True(s.LayerMs > 0 && s.HeadMs > 0));
        // every repetition's total, and the target's decode step timed in the same repetition
        Assert.All(steps, s => Assert.Equal(2, s.SamplesMs!.Count));
        Assert.All(steps, s => Assert.True(s.DecodeSamplesMs!.Count == 2 && s.DecodeSamplesMs!.All(ms => ms > 0)));
        using var pass = new MachineProbe.ReadPass(1 << 20, hugePages: false, target.Compute.Pool);
        var verify = SpeculationComponents.Verification(target, [1, 8], context: 20, repeats: 2, pass);
        Assert.Equal([1, 8], verify.Select(v => v.TreeTokens));
        Assert.All(verify, v => Assert.True(v.Ms > 0));
        Assert.All(verify, v => Assert.Equal(2, v.SamplesMs!.Count));
        // read passes bracket only the decode (T = 1) passes
        Assert.True(verify[0].ReadBeforeGBs!.Count == 2 && verify[0].ReadAfterGBs!.Count == 2 && verify[0].ReadBeforeGBs!.All(g => g > 0));
        Assert.Null(verify[1].ReadBeforeGBs);
    }

    [Fact]
    public void TimeSplitAndAcceptLengthsAreReported()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", true, 84));
        using var spec = model.CreateSession(DecodingMethod.Eagle(TinyModels.Head(model.Directory, 85), null, new TreeOptions { Depth = 2, TopK = 3, TotalTokens = 8 }));
        var r = spec.Generate([1, 2, 3], new GenerationOptions { MaxNewTokens = 24, StopIds = [] });
        Assert.Equal(24, r.Ids.Length);
        Assert.Equal(23, r.AcceptLengths.Sum()); // the first token comes from prefill
        var t = r.Time;
        Assert.True(t.DraftLayers > 0 && t.DraftLmHead > 0 && t.Verify > 0 && t.Other >= 0);
        Assert.True(t.DraftLayers + t.DraftLmHead + t.Verify <= r.DecodeSeconds * 1.01 + 1e-4);
    }
}

public class DraftVocabularyTests
{
    [Fact]
    public void FrequencyFileGivesSubsetWithStopIdsAndExactDecoding()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", true, 91));
        string file = Path.Combine(TinyModels.NewDir("freq"), "freq_64.pt");
        // fr.py style: frequency order, a duplicate, no EOS (511)
        TorchCheckpointWriter.WriteIntList(file, [.. Enumerable.Range(100, 80).Reverse(), 120]);
        var vocabulary = model.Vocabulary.LoadDraftVocabulary(file, 64);
        var ids = vocabulary.Ids;
        Assert.Equal(64, ids.Count);
        Assert.Contains(511, ids);
        Assert.Equal(179, ids[0]);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(file, vocabulary.Source);
        Assert.Equal(vocabulary, model.Vocabulary.LoadDraftVocabulary(file, 64)); // equal by content
        var first = model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 32));
        Assert.Equal(32, first.Count);
        Assert.Contains(511, first.Ids);
        Assert.Same(model.DraftHead(vocabulary), model.DraftHead(model.Vocabulary.LoadDraftVocabulary(file, 64))); // one LM head per vocabulary

        var prompt = new[] { 4, 8, 15, 16, 23, 42 };
        var expected = model.CreateSession().Generate(prompt, new GenerationOptions { MaxNewTokens = 24 }).Ids;
        using var spec = model.CreateSession(DecodingMethod.Eagle(TinyModels.Head(model.Directory, 92), vocabulary, new TreeOptions { Depth = 2, TopK = 4, TotalTokens = 10 }));
        Assert.Equal("fr-64", spec.Name);
        Assert.Equal(expected, spec.Generate(prompt, new GenerationOptions { MaxNewTokens = 24 }).Ids);
    }

    [Fact]
    public void FrSizeFindsTheFileBesideTheHeadAndRejectsMissingOnes()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", true, 95));
        string head = TinyModels.NewDir("head-with-freq");
        TorchCheckpointWriter.WriteIntList(Path.Combine(head, "freq_16.pt"), Enumerable.Range(200, 40).ToArray());
        var found = model.Vocabulary.FindDraftVocabulary(16, head);
        Assert.Equal(Path.Combine(head, "freq_16.pt"), found.Source);
        Assert.Equal(16, found.Count);
        Assert.Contains(511, found.Ids);
        Assert.Contains("no freq_32.pt", Assert.Throws<FrSpecException>(() => model.Vocabulary.FindDraftVocabulary(32, head)).Message);
    }
}

public class SpeculativeAllocationTests
{
    [Fact]
    public void DecodeRoundsDoNotAllocate()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", false, 93));
        using var spec = model.CreateSession(DecodingMethod.Eagle(TinyModels.Head(model.Directory, 94), model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 200)),
            new TreeOptions { Depth = 3, TopK = 4, TotalTokens = 12 }));
        var prompt = new[] { 1, 2, 3, 4 };
        long Measure(int tokens, SamplingOptions sampling)
        {
            var options = new GenerationOptions { MaxNewTokens = tokens, Sampling = sampling, StopIds = [] };
            spec.Generate(prompt, options); // warm up (JIT, buffers)
            long before = GC.GetAllocatedBytesForCurrentThread();
            spec.Generate(prompt, options);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        foreach (var sampling in new[] { SamplingOptions.Greedy, new SamplingOptions(0.8f, 20, 0.9f, 1) })
        {
            long small = Measure(8, sampling), large = Measure(200, sampling);
            // only the result lists grow with the output (a few KB); nothing per round
            Assert.True(large - small < 8 * 1024, $"{large - small} bytes more for 192 more tokens ({sampling})");
        }
    }
}
