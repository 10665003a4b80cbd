// The four namings a DeepFill v2 weight file can use, and how each maps onto Fillgraph's node
// names (the official TF scopes): `<scope>.weight` [out, in, kh, kw], `<scope>.bias`, and for
// the discriminator `<scope>.u`. The table is Docs/import.md's; spec §7.2-7.4 is the source.

public enum Naming: String, Sendable {
    /// Fillgraph's own keys (what `graphc compile --weights x.npz` always accepted).
    case fillgraph
    /// The official TensorFlow variables: inpaint_net/conv1/kernel (HWIO), discriminator/sn_patch_gan/...
    case tensorflow
    /// nipponjo/deepfillv2-pytorch model/networks_tf.py: conv1.conv.weight (its states_tf_*.pth).
    case portTF = "port-networks_tf"
    /// nipponjo/deepfillv2-pytorch model/networks.py: stage1.conv1.conv.weight (its states_pt_*.pth).
    case portPT = "port-networks"

    /// The Fillgraph name of a tensor called `name` in a file with this naming, or nil.
    public func fillgraphName(for name: String) -> String? { NameMapping.map(name, self)?.target }

    public var summary: String {
        switch self {
        case .fillgraph: return "Fillgraph's own names"
        case .tensorflow: return "the official TensorFlow variable names (inpaint_net/..., HWIO kernels)"
        case .portTF: return "the PyTorch port's TF-compatible model (model/networks_tf.py, keys like conv1.conv.weight)"
        case .portPT: return "the PyTorch port's own model (model/networks.py, keys like stage1.conv1.conv.weight)"
        }
    }
}

/// How a source tensor becomes a Fillgraph tensor.
enum Transform {
    case none
    case hwioToOihw
    /// TF's u [1, out] or the port's weight_u [out, 1] → [out].
    case flatten
}

struct Mapped {
    var target: String
    var transform: Transform
}

enum NameMapping {
    /// networks.py module paths → official scopes, in the order of spec §7.2.
    static let portModules: [(String, String)] = {
        var m: [(String, String)] = [
            ("stage1.conv1", "conv1"),
            ("stage1.down_block1.conv1_downsample", "conv2_downsample"), ("stage1.down_block1.conv2", "conv3"),
            ("stage1.down_block2.conv1_downsample", "conv4_downsample"), ("stage1.down_block2.conv2", "conv5"),
        ]
        let s1Bottleneck = ["conv6", "conv7_atrous", "conv8_atrous", "conv9_atrous", "conv10_atrous", "conv11", "conv12"]
        for (i, scope) in s1Bottleneck.enumerated() { m.append(("stage1.conv_bn\(i + 1)", scope)) }
        m += [
            ("stage1.up_block1.conv1_upsample.conv", "conv13_upsample"), ("stage1.up_block1.conv2", "conv14"),
            ("stage1.up_block2.conv1_upsample.conv", "conv15_upsample"), ("stage1.up_block2.conv2", "conv16"),
            ("stage1.conv_to_rgb", "conv17"),
            ("stage2.conv_conv1", "xconv1"),
            ("stage2.conv_down_block1.conv1_downsample", "xconv2_downsample"), ("stage2.conv_down_block1.conv2", "xconv3"),
            ("stage2.conv_down_block2.conv1_downsample", "xconv4_downsample"), ("stage2.conv_down_block2.conv2", "xconv5"),
        ]
        let s2Bottleneck = ["xconv6", "xconv7_atrous", "xconv8_atrous", "xconv9_atrous", "xconv10_atrous"]
        for (i, scope) in s2Bottleneck.enumerated() { m.append(("stage2.conv_conv_bn\(i + 1)", scope)) }
        m += [
            ("stage2.ca_conv1", "pmconv1"),
            ("stage2.ca_down_block1.conv1_downsample", "pmconv2_downsample"), ("stage2.ca_down_block1.conv2", "pmconv3"),
            ("stage2.ca_down_block2.conv1_downsample", "pmconv4_downsample"), ("stage2.ca_down_block2.conv2", "pmconv5"),
            ("stage2.ca_conv_bn1", "pmconv6"), ("stage2.ca_conv_bn4", "pmconv9"), ("stage2.ca_conv_bn5", "pmconv10"),
            ("stage2.conv_bn6", "allconv11"), ("stage2.conv_bn7", "allconv12"),
            ("stage2.up_block1.conv1_upsample.conv", "allconv13_upsample"), ("stage2.up_block1.conv2", "allconv14"),
            ("stage2.up_block2.conv1_upsample.conv", "allconv15_upsample"), ("stage2.up_block2.conv2", "allconv16"),
            ("stage2.conv_to_rgb", "allconv17"),
        ]
        return m
    }()

    private static let portModuleIndex: [String: String] = Dictionary(uniqueKeysWithValues: portModules)

    /// The naming a group's keys use.
    static func detect(_ names: [String]) -> Naming {
        if names.contains(where: { $0.hasPrefix("inpaint_net/") || $0.hasPrefix("discriminator/") }) { return .tensorflow }
        if names.contains(where: { $0.hasPrefix("stage1.") || $0.hasPrefix("stage2.") }) { return .portPT }
        if names.contains(where: { $0.hasSuffix(".conv.weight") || $0.contains(".conv_sn.") }) { return .portTF }
        return .fillgraph
    }

    /// Tensors a checkpoint carries that are not weights: optimiser slots, counters, buffers
    /// that only restate a constant. They are counted, not reported as unexpected.
    static func isIgnorable(_ name: String, _ naming: Naming) -> Bool {
        switch naming {
        case .tensorflow:
            return name.hasSuffix("/Adam") || name.hasSuffix("/Adam_1") || !name.contains("/")
                || name.hasSuffix("/kernel_sn/v")
        case .portPT, .portTF:
            return name.hasSuffix("fuse_weight") || name.hasSuffix("weight_v") || name.hasSuffix("._v")
                || name.hasSuffix("num_batches_tracked")
        case .fillgraph:
            return false
        }
    }

    /// The Fillgraph name and layout change for one source tensor, or nil when the naming has
    /// no place for it.
    static func map(_ name: String, _ naming: Naming) -> Mapped? {
        switch naming {
        case .fillgraph:
            return Mapped(target: name, transform: .none)
        case .tensorflow:
            var parts = name.split(separator: "/").map(String.init)
            if parts.first == "inpaint_net" {
                parts.removeFirst()
            } else if parts.starts(with: ["discriminator", "sn_patch_gan"]) {
                parts.removeFirst(2)
            } else { return nil }
            // <scope>/<scope>_conv/{kernel,bias} for the four upsampling layers
            if parts.count == 3, parts[1] == parts[0] + "_conv" { parts.remove(at: 1) }
            switch parts.count {
            case 2 where parts[1] == "kernel": return Mapped(target: parts[0] + ".weight", transform: .hwioToOihw)
            case 2 where parts[1] == "bias": return Mapped(target: parts[0] + ".bias", transform: .none)
            case 3 where parts[1] == "kernel_sn" && parts[2] == "u": return Mapped(target: parts[0] + ".u", transform: .flatten)
            default: return nil
            }
        case .portTF, .portPT:
            // Several endings can match (".conv.conv.weight" also ends in ".conv.weight"); the
            // first that leaves a known module wins.
            for (suffix, role, transform) in portSuffixes where name.hasSuffix(suffix) {
                let module = String(name.dropLast(suffix.count))
                if naming == .portTF, !module.isEmpty, !module.contains(".") {
                    return Mapped(target: module + role, transform: transform)
                }
                if naming == .portPT, let scope = portModuleIndex[module] {
                    return Mapped(target: scope + role, transform: transform)
                }
            }
            return nil
        }
    }

    /// Key endings of a port layer: GConv wraps nn.Conv2d as `.conv`, GDeConv wraps a GConv as
    /// `.conv.conv`; the discriminator's spectral-norm conv is `.conv_sn` in either of PyTorch's
    /// two spectral-norm styles.
    private static let portSuffixes: [(String, String, Transform)] = [
        (".conv.conv.weight", ".weight", .none), (".conv.conv.bias", ".bias", .none),
        (".conv.weight", ".weight", .none), (".conv.bias", ".bias", .none),
        (".conv_sn.parametrizations.weight.original", ".weight", .none), (".conv_sn.weight_orig", ".weight", .none),
        (".conv_sn.weight", ".weight", .none), (".conv_sn.bias", ".bias", .none),
        (".conv_sn.parametrizations.weight.0._u", ".u", .flatten), (".conv_sn.weight_u", ".u", .flatten),
    ]
}
