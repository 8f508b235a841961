//! ONNX export of the inference graph, written with `prost` from the messages of ONNX's
//! `onnx.proto` that the graph needs (the field numbers below are that file's).
//!
//! The graph, opset 13: `images` float32 `[N, 1, 28, 28]` (pixels / 255, N dynamic) → Sub mean →
//! Div std → Conv → Relu → AveragePool → Conv → Relu → AveragePool → Flatten → Gemm → Relu →
//! Gemm → Relu → Gemm → `logits` `[N, 10]`. Dropout is the identity at inference and is left out.

use prost::Message;

use super::torch_tensors;
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::data::{PIXEL_MEAN, PIXEL_STD};

/// The operator set the graph uses.
pub const OPSET: i64 = 13;
/// The IR version that goes with opset 13 (ONNX 1.8).
const IR_VERSION: i64 = 7;
/// The graph's input and output names.
pub const INPUT: &str = "images";
/// See [`INPUT`].
pub const OUTPUT: &str = "logits";
/// `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;
/// `AttributeProto.AttributeType` values.
const ATTR_INT: i32 = 2;
const ATTR_INTS: i32 = 7;

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(int64, tag = "1")]
    ir_version: i64,
    #[prost(string, tag = "2")]
    producer_name: String,
    #[prost(string, tag = "3")]
    producer_version: String,
    #[prost(string, tag = "6")]
    doc_string: String,
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    opset_import: Vec<OperatorSetIdProto>,
    #[prost(message, repeated, tag = "14")]
    metadata_props: Vec<StringStringEntryProto>,
}

#[derive(Clone, PartialEq, Message)]
struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    domain: String,
    #[prost(int64, tag = "2")]
    version: i64,
}

#[derive(Clone, PartialEq, Message)]
struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
    #[prost(string, tag = "10")]
    doc_string: String,
    #[prost(message, repeated, tag = "11")]
    input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    output: Vec<ValueInfoProto>,
}

#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(string, tag = "4")]
    op_type: String,
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct AttributeProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int64, optional, tag = "3")]
    i: Option<i64>,
    #[prost(int64, repeated, tag = "8")]
    ints: Vec<i64>,
    #[prost(int32, tag = "20")]
    r#type: i32,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct ValueInfoProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    r#type: Option<TypeProto>,
    #[prost(string, tag = "3")]
    doc_string: String,
}

/// `TypeProto` with its `tensor_type` member, the only one used (a oneof of one member is, on
/// the wire, an optional message).
#[derive(Clone, PartialEq, Message)]
struct TypeProto {
    #[prost(message, optional, tag = "1")]
    tensor_type: Option<TensorType>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorType {
    #[prost(int32, tag = "1")]
    elem_type: i32,
    #[prost(message, optional, tag = "2")]
    shape: Option<TensorShapeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    dim: Vec<Dimension>,
}

#[derive(Clone, PartialEq, Message)]
struct Dimension {
    #[prost(oneof = "DimensionValue", tags = "1, 2")]
    value: Option<DimensionValue>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum DimensionValue {
    #[prost(int64, tag = "1")]
    Value(i64),
    #[prost(string, tag = "2")]
    Param(String),
}

/// True when `bytes` start like an ONNX model: `ir_version` (field 1, a small varint) followed by
/// another `ModelProto` field.
pub fn looks_like(bytes: &[u8]) -> bool {
    matches!(bytes, [0x08, 1..=15, next, ..] if matches!(next, 0x12 | 0x1a | 0x22 | 0x28 | 0x32 | 0x3a | 0x42))
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: None,
        ints: values.to_vec(),
        r#type: ATTR_INTS,
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: Some(value),
        ints: Vec::new(),
        r#type: ATTR_INT,
    }
}

fn tensor(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: FLOAT,
        name: name.into(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

fn value_info(name: &str, dims: [DimensionValue; 2], more: &[i64], doc: &str) -> ValueInfoProto {
    let dim = dims
        .into_iter()
        .map(|d| Dimension { value: Some(d) })
        .chain(more.iter().map(|&d| Dimension {
            value: Some(DimensionValue::Value(d)),
        }))
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorType {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        doc_string: doc.into(),
    }
}

/// Builds the graph as a list of nodes, each fed by the previous one's output.
struct Chain {
    nodes: Vec<NodeProto>,
    last: String,
}

impl Chain {
    fn then(&mut self, op: &str, extra_inputs: &[&str], attribute: Vec<AttributeProto>) {
        self.then_named(
            op,
            &format!("{}_{}", op.to_lowercase(), self.nodes.len()),
            extra_inputs,
            attribute,
        );
    }

    fn then_named(
        &mut self,
        op: &str,
        name: &str,
        extra_inputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) {
        let mut input = vec![self.last.clone()];
        input.extend(extra_inputs.iter().map(|s| s.to_string()));
        self.nodes.push(NodeProto {
            input,
            output: vec![name.to_string()],
            name: name.to_string(),
            op_type: op.into(),
            attribute,
        });
        self.last = name.to_string();
    }
}

/// The ONNX model of `checkpoint`'s inference graph, serialised.
pub fn encode(checkpoint: &Checkpoint) -> Result<Vec<u8>, CheckpointError> {
    let mut initializer = vec![
        tensor("pixel_mean", &[], &[PIXEL_MEAN]),
        tensor("pixel_std", &[], &[PIXEL_STD]),
    ];
    initializer.extend(
        torch_tensors(checkpoint)
            .iter()
            .map(|t| tensor(&t.name, &t.shape, &t.values)),
    );
    let mut graph = Chain {
        nodes: Vec::new(),
        last: INPUT.into(),
    };
    let pool = || vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])];
    let conv = |pads: i64| vec![ints("kernel_shape", &[5, 5]), ints("pads", &[pads; 4])];
    graph.then_named("Sub", "centred", &["pixel_mean"], vec![]);
    graph.then_named("Div", "standardised", &["pixel_std"], vec![]);
    // Batch norm at inference: PyTorch's and Burn's epsilon, 1e-5, is ONNX's default.
    let norm = |graph: &mut Chain, bn: &str| {
        if checkpoint.model.has_batch_norm() {
            let inputs =
                ["weight", "bias", "running_mean", "running_var"].map(|p| format!("{bn}.{p}"));
            let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            graph.then_named("BatchNormalization", bn, &inputs, vec![]);
        }
    };
    graph.then_named("Conv", "conv1", &["conv1.weight", "conv1.bias"], conv(2));
    norm(&mut graph, "bn1");
    graph.then("Relu", &[], vec![]);
    let pool_op = match checkpoint.model.pooling() {
        crate::model::Pooling::Average => "AveragePool",
        crate::model::Pooling::Max => "MaxPool",
    };
    graph.then_named(pool_op, "pool1", &[], pool());
    graph.then_named("Conv", "conv2", &["conv2.weight", "conv2.bias"], conv(0));
    norm(&mut graph, "bn2");
    graph.then("Relu", &[], vec![]);
    graph.then_named(pool_op, "pool2", &[], pool());
    graph.then_named("Flatten", "flatten", &[], vec![int("axis", 1)]);
    for (i, layer) in ["fc1", "fc2", "fc3"].into_iter().enumerate() {
        let (weight, bias) = (format!("{layer}.weight"), format!("{layer}.bias"));
        // PyTorch's [out, in] weights: Gemm computes x · Wᵀ + b.
        let name = if i == 2 { OUTPUT } else { layer };
        graph.then_named("Gemm", name, &[&weight, &bias], vec![int("transB", 1)]);
        if i < 2 {
            graph.then("Relu", &[], vec![]);
        }
    }
    let batch = || DimensionValue::Param("batch".into());
    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "fashion-trainer".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!(
            "LeNet-5 Fashion-MNIST classifier ({}). Input: Fashion-MNIST pixels divided by 255, \
             light garment on black; output: the ten class logits.",
            checkpoint.model.describe()
        ),
        graph: Some(GraphProto {
            node: graph.nodes,
            name: "lenet".into(),
            initializer,
            doc_string:
                "standardise, 2 x (conv, [batch norm], ReLU, pool), 3 fully connected layers".into(),
            input: vec![value_info(
                INPUT,
                [batch(), DimensionValue::Value(1)],
                &[28, 28],
                "float32 [N, 1, 28, 28]: pixels / 255",
            )],
            output: vec![value_info(
                OUTPUT,
                [batch(), DimensionValue::Value(10)],
                &[],
                "float32 [N, 10]",
            )],
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props: vec![StringStringEntryProto {
            key: "label".into(),
            value: checkpoint.label.clone(),
        }],
    };
    Ok(model.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::Variant;
    use burn::tensor::Device;

    fn exported() -> (Checkpoint, ModelProto) {
        let device = Device::flex();
        let config = Variant::V1.config();
        let model = config.model.init(&device);
        let checkpoint = pollster::block_on(Checkpoint::of_model(
            &model,
            &config.model,
            Some(&config),
            "v1",
        ))
        .unwrap();
        let bytes = encode(&checkpoint).unwrap();
        assert!(looks_like(&bytes));
        (checkpoint, ModelProto::decode(bytes.as_slice()).unwrap())
    }

    #[test]
    fn the_graph_chains_the_layers_from_images_to_logits() {
        let (_, model) = exported();
        assert_eq!((model.ir_version, model.opset_import[0].version), (7, 13));
        let graph = model.graph.unwrap();
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(
            ops,
            [
                "Sub",
                "Div",
                "Conv",
                "Relu",
                "AveragePool",
                "Conv",
                "Relu",
                "AveragePool",
                "Flatten",
                "Gemm",
                "Relu",
                "Gemm",
                "Relu",
                "Gemm"
            ]
        );
        assert_eq!(graph.node[0].input[0], INPUT);
        for pair in graph.node.windows(2) {
            assert_eq!(pair[1].input[0], pair[0].output[0]);
        }
        assert_eq!(graph.node.last().unwrap().output[0], OUTPUT);
        let input_dims = &graph.input[0]
            .r#type
            .as_ref()
            .unwrap()
            .tensor_type
            .as_ref()
            .unwrap();
        let dims = &input_dims.shape.as_ref().unwrap().dim;
        assert_eq!(dims[0].value, Some(DimensionValue::Param("batch".into())));
        assert_eq!(dims[3].value, Some(DimensionValue::Value(28)));
    }

    #[test]
    fn initialisers_hold_every_weight_in_pytorch_layout() {
        let (checkpoint, model) = exported();
        let graph = model.graph.unwrap();
        let fc1 = graph
            .initializer
            .iter()
            .find(|t| t.name == "fc1.weight")
            .unwrap();
        assert_eq!(fc1.dims, [120, 650]);
        let burn_fc1 = &checkpoint
            .tensors()
            .iter()
            .find(|(e, _)| e.path == "fc1.weight")
            .unwrap()
            .1;
        // Burn's [650, 120] element (in 3, out 5) is PyTorch's (5, 3).
        let at = |i: usize| f32::from_le_bytes(fc1.raw_data[4 * i..4 * i + 4].try_into().unwrap());
        assert_eq!(at(5 * 650 + 3), burn_fc1[3 * 120 + 5]);
        let values: usize = graph.initializer.iter().map(|t| t.raw_data.len() / 4).sum();
        assert_eq!(values, 99_976 + 2);
    }
}
