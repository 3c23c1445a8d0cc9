using FrSpec.Formats;
using FrSpec.Formats.Gguf;
using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Formats;

/// <summary>
/// GGUF files for the reader's tests: synthesized models exported by <see cref="GgufModelExporter"/>, and re-encoded
/// copies with chosen tensors quantized (each row encoded on its own, as a quantizer must, so quantizing the exporter's
/// reordered q/k rows equals reordering quantized Hugging Face rows).
/// </summary>
internal static unsafe class GgufFixtures
{
    /// <summary>A synthesized model directory and its GGUF export, the GGUF in a folder without a tokenizer.json.</summary>
    public static (string Dir, string Gguf) Export(SynthSpec spec, DType dtype, string? tokenizerJson = null, ulong seed = 5)
    {
        string root = TestModels.NewTempDir();
        tokenizerJson ??= GgufWriterTests.WriteTokenizer(Path.Combine(root, "tok"));
        string dir = Path.Combine(root, "model");
        ModelSynthesizer.Write(spec, dir, dtype, seed, tokenizerJson: tokenizerJson);
        string gguf = Path.Combine(root, "model.gguf");
        GgufModelExporter.Export(dir, gguf);
        return (dir, gguf);
    }

    /// <summary>A copy of <paramref name="gguf"/> with every tensor that <paramref name="plan"/> names re-encoded to that type.</summary>
    public static string Requantize(string gguf, Func<string, GgmlType?> plan)
    {
        string outPath = Path.Combine(TestModels.NewTempDir(), "quantized.gguf");
        using var f = GgufFile.Open(gguf);
        var w = new GgufWriter();
        foreach (var key in f.Metadata.Keys)
        {
            switch (f.Metadata.Raw(key))
            {
                case string s: w.AddString(key, s); break;
                case uint u: w.AddUInt32(key, u); break;
                case int i: w.AddInt32(key, i); break;
                case float x: w.AddFloat32(key, x); break;
                case bool b: w.AddBool(key, b); break;
                case string[] a: w.AddStrings(key, a); break;
                case int[] a: w.AddInt32s(key, a); break;
                case float[] a: w.AddFloat32s(key, a); break;
                case var o: throw new NotSupportedException($"metadata '{key}' of type {o?.GetType()}");
            }
        }
        foreach (var t in f.Tensors)
        {
            var target = plan(t.Name) ?? t.Type;
            var bytes = Encode(f, t, GgmlTypeInfo.ToDType(target));
            w.AddTensor(t.Name, target, t.Shape, s => s.Write(bytes));
        }
        w.Write(outPath);
        return outPath;
    }

    /// <summary>
    /// A copy of model directory <paramref name="dir"/> whose matrices hold, in f32, the values that quantizing them per
    /// <paramref name="plan"/> (keyed by GGUF name) decodes to: the model a quantized GGUF of it must compute exactly.
    /// </summary>
    public static string Dequantized(string dir, Func<string, GgmlType?> plan)
    {
        string outDir = TestModels.NewTempDir();
        foreach (var file in Directory.GetFiles(dir).Where(p => !p.EndsWith(".safetensors", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(outDir, Path.GetFileName(file)));
        using var store = TensorStore.Open(dir);
        var blobs = new List<TensorBlob>();
        foreach (var name in store.Names.Order(StringComparer.Ordinal))
        {
            var (sf, e) = store.Find(name);
            var values = new float[e.ElementCount];
            FrSpec.Numerics.Convert.ToFloat(SafetensorsFile.ToDType(sf.Path, e), (byte*)sf.DataPointer(e), values);
            if (GgufTensorNames.FromHf(name) is { } g && plan(g) is { } type && e.Shape.Length == 2)
            {
                if (type == GgmlType.Q8_0) values = Q8_0Decode(Q8_0Encode(values));
                else
                {
                    using var q = WeightMatrix.FromFloats(values, (int)e.Shape[0], (int)e.Shape[1], GgmlTypeInfo.ToDType(type));
                    values = q.ToFloatArray();
                }
            }
            blobs.Add(TensorBlob.FromFloats(name, e.Shape, values, DType.F32));
        }
        SafetensorsWriter.Write(Path.Combine(outDir, "model.safetensors"), blobs);
        return outDir;
    }

    /// <summary>Q8_0 written from its description (f16 scale d = max|w|/127, then 32 signed bytes q; w = d·q), independent of the engine.</summary>
    public static byte[] Q8_0Encode(float[] values)
    {
        var bytes = new byte[values.Length / 32 * 34];
        for (int b = 0; b < values.Length / 32; b++)
        {
            var x = values.AsSpan(32 * b, 32);
            float amax = 0;
            foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
            var d = (Half)(amax / 127);
            BitConverter.TryWriteBytes(bytes.AsSpan(34 * b, 2), d);
            for (int i = 0; i < 32; i++)
                bytes[34 * b + 2 + i] = (byte)(sbyte)((float)d == 0 ? 0 : Math.Clamp((int)MathF.Round(x[i] / (float)d), -127, 127));
        }
        return bytes;
    }

    public static float[] Q8_0Decode(byte[] bytes)
    {
        var values = new float[bytes.Length / 34 * 32];
        for (int b = 0; b < bytes.Length / 34; b++)
        {
            float d = (float)BitConverter.ToHalf(bytes, 34 * b);
            for (int i = 0; i < 32; i++) values[32 * b + i] = d * (sbyte)bytes[34 * b + 2 + i];
        }
        return values;
    }

    private static byte[] Encode(GgufFile f, GgufTensorInfo t, DType target)
    {
        long cols = t.Shape[^1], rows = t.ElementCount / cols;
        var values = new float[t.ElementCount];
        FrSpec.Numerics.Convert.ToFloat(t.DType, (byte*)f.DataPointer(t), values);
        if (target == DType.Q8_0) return Q8_0Encode(values);
        long rowBytes = DTypeInfo.RowBytes(target, cols);
        var bytes = new byte[rows * rowBytes];
        fixed (byte* p = bytes)
            for (long r = 0; r < rows; r++)
                FrSpec.Numerics.Convert.FromFloat(values.AsSpan((int)(r * cols), (int)cols), target, p + r * rowBytes);
        return bytes;
    }
}
