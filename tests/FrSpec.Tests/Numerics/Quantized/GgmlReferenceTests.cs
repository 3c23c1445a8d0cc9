using System.Runtime.InteropServices;
using FrSpec.Numerics;
using Xunit.Abstractions;

namespace FrSpec.Tests.Numerics.Quantized;

/// <summary>
/// The block formats against llama.cpp itself: ggml-base's reference encoders and decoders (quantize_row_*_ref,
/// dequantize_row_*), loaded from the LLamaSharp CPU backend package the peer benchmark uses. FrSpec must decode
/// llama.cpp's blocks bit for bit as llama.cpp does, llama.cpp must decode FrSpec's blocks as FrSpec does, and FrSpec's
/// encoders must be about as accurate as llama.cpp's reference ones. Runs where that library is in the test output
/// (linux-x64; CI).
/// </summary>
public unsafe class GgmlReferenceTests(ITestOutputHelper output)
{
    private static readonly Lazy<nint> Library = new(() =>
    {
        string path = Path.Combine(AppContext.BaseDirectory, "ggml", "libggml-base.so");
        return OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64 && File.Exists(path)
            ? NativeLibrary.Load(path) : 0;
    });

    public static TheoryData<DType, string> Types => new()
    {
        { DType.Q4_0, "q4_0" }, { DType.Q4_K, "q4_K" }, { DType.Q6_K, "q6_K" },
    };

    [Theory, MemberData(nameof(Types))]
    public void BlocksMeanTheSameToLlamaCppAndFrSpec(DType type, string name)
    {
        if (Library.Value == 0) { output.WriteLine("libggml-base.so (linux-x64) is not in the test output: no llama.cpp reference, nothing checked"); return; }
        var quantize = (delegate* unmanaged[Cdecl]<float*, byte*, long, void>)NativeLibrary.GetExport(Library.Value, $"quantize_row_{name}_ref");
        var dequantize = (delegate* unmanaged[Cdecl]<byte*, float*, long, void>)NativeLibrary.GetExport(Library.Value, $"dequantize_row_{name}");

        const int rows = 64, cols = 512;
        var r = new Random(17);
        var x = new float[rows * cols];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble()) * (r.NextDouble() < 0.02 ? 8 : 1) * 0.02);
        long rowBytes = DTypeInfo.RowBytes(type, cols);
        var theirs = new byte[rows * rowBytes];
        using var ours = WeightMatrix.FromFloats(x, rows, cols, type);
        var decodedTheirsByThem = new float[x.Length];
        var decodedTheirsByUs = new float[x.Length];
        var decodedOursByThem = new float[x.Length];
        var decodedOursByUs = ours.ToFloatArray();
        var ourRow = new byte[rowBytes];
        fixed (float* px = x, a = decodedTheirsByThem, b = decodedTheirsByUs, c = decodedOursByThem)
        fixed (byte* pt = theirs)
        {
            for (int row = 0; row < rows; row++)
            {
                quantize(px + row * cols, pt + row * rowBytes, cols);
                dequantize(pt + row * rowBytes, a + row * cols, cols);
                FrSpec.Numerics.Convert.ToFloat(type, pt + row * rowBytes, new Span<float>(b + row * cols, cols));
                ours.ReadFileRow(row, ourRow); // the file layout of FrSpec's blocks (the engine keeps them interleaved)
                fixed (byte* o = ourRow) dequantize(o, c + row * cols, cols);
            }
        }
        AssertBitEqual(decodedTheirsByThem, decodedTheirsByUs, $"{type}: llama.cpp's blocks decoded by FrSpec");
        AssertBitEqual(decodedOursByUs, decodedOursByThem, $"{type}: FrSpec's blocks decoded by llama.cpp");

        double theirError = RelativeRmse(x, decodedTheirsByThem), ourError = RelativeRmse(x, decodedOursByUs);
        output.WriteLine($"{type}: RMSE/σ FrSpec encoder {ourError:F4}, llama.cpp reference encoder {theirError:F4}");
        Assert.True(ourError <= 1.05 * theirError, $"{type}: FrSpec's encoder error {ourError:F4} is over 5% above llama.cpp's {theirError:F4}");
    }

    private static void AssertBitEqual(float[] want, float[] got, string what)
    {
        for (int i = 0; i < want.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]), $"{what}: weight {i} is {got[i]}, expected {want[i]}");
    }

    private static double RelativeRmse(float[] x, float[] y)
    {
        double e = 0, s = 0;
        for (int i = 0; i < x.Length; i++) { e += (x[i] - (double)y[i]) * (x[i] - y[i]); s += (double)x[i] * x[i]; }
        return Math.Sqrt(e / s);
    }
}
