/// What a photo file says about its pixels besides their values: an outputs keeps it, so a
/// wide-gamut photo does not shift colour and a print size does not change.
public struct ImageMetadata: Equatable, Sendable {
    public struct Resolution: Equatable, Sendable {
        /// Pixels per metre, or only an aspect ratio when `perMetre` is false.
        public var x: Double
        public var y: Double
        public var perMetre: Bool

        public init(x: Double, y: Double, perMetre: Bool) {
            self.x = x
            self.y = y
            self.perMetre = perMetre
        }
    }

    public var iccProfile: [UInt8]?
    public var iccName: String?
    public var resolution: Resolution?

    public init(iccProfile: [UInt8]? = nil, iccName: String? = nil, resolution: Resolution? = nil) {
        self.iccProfile = iccProfile
        self.iccName = iccName
        self.resolution = resolution
    }

    /// nil when there is nothing to keep.
    var orNil: ImageMetadata? { iccProfile == nil && resolution == nil ? nil : self }
}

/// A decoded raster image: row-major, channels interleaved, one `UInt16` per sample.
///
/// 8-bit images hold values 0...255, 16-bit images 0...65535. Palette and
/// 1/2/4-bit gray PNGs decode to 8-bit; a tRNS chunk becomes an alpha channel.
public struct Image: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
    public var channels: Int
    /// 8 or 16.
    public var bitDepth: Int
    /// `width * height * channels` samples, row-major, interleaved channels.
    public var samples: [UInt16]
    /// The colour profile and resolution of the file it came from, copied to outputs.
    public var metadata: ImageMetadata?

    /// Stores the fields as given; `PNG.encode` validates them.
    public init(width: Int, height: Int, channels: Int, bitDepth: Int, samples: [UInt16]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = bitDepth
        self.samples = samples
    }

    /// An image with every sample set to `fill`.
    public init(width: Int, height: Int, channels: Int, bitDepth: Int, fill: UInt16 = 0) {
        self.init(width: width, height: height, channels: channels, bitDepth: bitDepth,
                  samples: [UInt16](repeating: fill, count: max(0, width) * max(0, height) * max(0, channels)))
    }

    public var hasAlpha: Bool { channels == 2 || channels == 4 }
    public var colorChannels: Int { hasAlpha ? channels - 1 : channels }
    public var maxValue: Int { bitDepth == 16 ? 65535 : 255 }

    /// Sample `c` of the pixel at column `x`, row `y`. Traps when out of bounds.
    public subscript(x: Int, y: Int, c: Int) -> UInt16 {
        get { samples[index(x, y, c)] }
        set { samples[index(x, y, c)] = newValue }
    }

    @inline(__always)
    private func index(_ x: Int, _ y: Int, _ c: Int) -> Int {
        precondition(x >= 0 && x < width && y >= 0 && y < height && c >= 0 && c < channels,
                     "pixel (\(x), \(y)) channel \(c) is outside the \(width)×\(height)×\(channels) image")
        return (y * width + x) * channels + c
    }
}
