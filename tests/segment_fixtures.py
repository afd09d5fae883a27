"""Tiny, randomly initialised Segment Anything / EdgeTAM / ViTMatte models built from the real
transformers classes and saved with save_pretrained (safetensors), for offline tests. They
cannot show quality: their masks are arbitrary, only shapes, coordinates and plumbing are real."""

from __future__ import annotations

from pathlib import Path

SAM_SIZE = 128  # the tiny SAM's input side (the real one: 1024)
EDGETAM_SIZE = 256


def tiny_sam(folder: Path) -> Path:
    import torch
    from transformers import (
        SamConfig,
        SamImageProcessor,
        SamMaskDecoderConfig,
        SamModel,
        SamProcessor,
        SamPromptEncoderConfig,
        SamVisionConfig,
    )

    torch.manual_seed(0)
    vision = SamVisionConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_dim=64,
        image_size=SAM_SIZE, patch_size=16, output_channels=32, window_size=4,
        global_attn_indexes=[1], num_pos_feats=16,
    )
    prompt = SamPromptEncoderConfig(hidden_size=32, image_size=SAM_SIZE, patch_size=16,
                                    mask_input_channels=4)
    decoder = SamMaskDecoderConfig(hidden_size=32, mlp_dim=64, num_hidden_layers=2,
                                   num_attention_heads=2, iou_head_hidden_dim=32)
    config = SamConfig(vision_config=vision.to_dict(), prompt_encoder_config=prompt.to_dict(),
                       mask_decoder_config=decoder.to_dict())
    SamModel(config).save_pretrained(folder)
    processor = SamProcessor(SamImageProcessor(
        size={"longest_edge": SAM_SIZE}, pad_size={"height": SAM_SIZE, "width": SAM_SIZE}
    ))
    processor.save_pretrained(folder)
    return folder


def tiny_edgetam(folder: Path) -> Path:
    import torch
    from transformers import EdgeTamConfig, EdgeTamModel, Sam2ImageProcessor, Sam2Processor

    torch.manual_seed(0)
    config = EdgeTamConfig()
    config.vision_config.backbone_config.architecture = "repvit_m1"  # EdgeTAM's backbone
    s = EDGETAM_SIZE
    config.vision_config.backbone_feature_sizes = [[s // 4, s // 4], [s // 8, s // 8],
                                                   [s // 16, s // 16]]
    config.prompt_encoder_config.image_size = s
    EdgeTamModel(config).save_pretrained(folder)
    Sam2Processor(Sam2ImageProcessor(size={"height": s, "width": s})).save_pretrained(folder)
    return folder


def tiny_vitmatte(folder: Path) -> Path:
    import torch
    from transformers import (
        VitDetConfig,
        VitMatteConfig,
        VitMatteForImageMatting,
        VitMatteImageProcessor,
    )

    torch.manual_seed(0)
    backbone = VitDetConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            mlp_ratio=2, num_channels=4, image_size=64, patch_size=16,
                            out_features=["stage2"])
    config = VitMatteConfig(backbone_config=backbone.to_dict(), hidden_size=32,
                            convstream_hidden_sizes=[8, 16, 16], fusion_hidden_sizes=[32, 16, 8, 8])
    VitMatteForImageMatting(config).save_pretrained(folder)
    VitMatteImageProcessor().save_pretrained(folder)
    return folder


def tiny_sam_hq(folder: Path) -> Path:
    import torch
    import transformers as tf

    torch.manual_seed(0)
    vision = tf.SamHQVisionConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_dim=64,
        image_size=SAM_SIZE, patch_size=16, output_channels=32, window_size=4,
        global_attn_indexes=[1], num_pos_feats=16,
    )
    prompt = tf.SamHQPromptEncoderConfig(hidden_size=32, image_size=SAM_SIZE, patch_size=16,
                                         mask_input_channels=4)
    decoder = tf.SamHQMaskDecoderConfig(hidden_size=32, mlp_dim=64, num_hidden_layers=2,
                                        num_attention_heads=2, iou_head_hidden_dim=32, vit_dim=32)
    config = tf.SamHQConfig(vision_config=vision.to_dict(), prompt_encoder_config=prompt.to_dict(),
                            mask_decoder_config=decoder.to_dict())
    tf.SamHQModel(config).save_pretrained(folder)
    tf.SamHQProcessor(tf.SamImageProcessor(
        size={"longest_edge": SAM_SIZE}, pad_size={"height": SAM_SIZE, "width": SAM_SIZE}
    )).save_pretrained(folder)
    return folder
