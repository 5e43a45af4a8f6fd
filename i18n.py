"""English and Simplified Chinese: one translation table for every user-facing string of the app.

English is the source language. A key of ``ZH`` is the English text as the code passes it to ``ui.t`` (or a
``ui.TEXTS`` key), and also every English text that cl_core hands to a page: method descriptions, option help,
augmentation presets, verdicts, error and status messages, figure titles, axes and legends. A key with
``{placeholders}`` is a template: ``ui.t`` fills it in, and ``translate`` matches a finished English message
against it, so ``"Effective rank 3.1 of a possible 64: ..."`` comes out as the Chinese template filled with the
same values (each value translated in turn). A message no key matches stays English; nothing ever raises.
Standard names (SimCLR, InfoNCE, UMAP, ...) are the same in both languages. No Streamlit here.
"""

from __future__ import annotations

import functools
import re
import string
from typing import Any

LANGS = {"en": "English", "zh": "中文"}  # each language named in itself, as a language switch shows it
# Method, metric, data-set and tool names that Chinese texts use as they are
_NAMES = (
    "SimCLR MoCo v2 BYOL SwAV SimSiam Barlow Twins VICReg InfoNCE NT-Xent Sinkhorn-Knopp Sinkhorn UMAP PCA t-SNE "
    "T-SNE kNN top-1 RankMe ResNet-18 resnet18 CNN MLP AdamW adamw SGD sgd LARS lars GPU CPU CUDA MPS Apple "
    "CIFAR-10 CIFAR-100 MNIST Fashion-MNIST STL-10 scikit-learn ImageNet RGB HTML zip ETA MSE EMA L2 logits "
    "softmax arXiv et al ln log exp cos std min max fp32 bf16 fp16 uint8 nats TensorBoard solo-learn moco "
    "Chen He Grill Caron Zbontar Bardes SyncBatchNorm torchvision PATH JSON CIFAR MB ID Python python idx ubyte CSV"
)
STANDARD_NAMES = tuple(_NAMES.split())

ZH: dict[str, str] = {
    # ------------------------------------------------------------------------------------ app frame and sidebar
    "Contrastive Learning Explorer": "对比学习探索器",
    "Language": "语言",
    "Start": "开始",
    "Data & augmentations": "数据与增强",
    "Train": "训练",
    "Embeddings": "嵌入",
    "Diagnostics": "诊断",
    "Compare": "比较",
    "Sweeps": "参数扫描",
    "Lessons": "课程",
    "Loss Playground": "损失游乐场",
    "Training device: **{d}**": "训练设备：**{d}**",
    "Current run": "当前训练",
    "no runs yet": "还没有训练",
    "The run that Train, Embeddings and Diagnostics show.": "“训练”“嵌入”和“诊断”页显示的训练。",
    "Training now: {runs}": "正在训练：{runs}",
    "Runs folder": "训练文件夹",
    "Folder": "文件夹",
    "Where runs are written and read.": "训练结果写入和读取的位置。",
    "{n} runs": "{n} 个训练",
    "Classroom settings: {e}.": "课堂设置：{e}。",
    "Loading the data set…": "正在加载数据集……",
    "Projecting the embeddings…": "正在投影嵌入……",
    "%d %b %H:%M": "%m月%d日 %H:%M",
    "CPU ({n} cores; no GPU found)": "CPU（{n} 核；未找到 GPU）",
    # ------------------------------------------------------------------------------------------ long texts
    "intro": (
        "对比学习让神经网络在**没有标签**的情况下学会识别图像。每张图像被增强两次（裁剪、翻转、重新着色）。"
        "网络学习把同一张图像的两个*视图*映射到相近的点——这是一个**正样本对**，被拉近；"
        "把不同图像的视图映射到相距较远的点——这些是**负样本**，被推开。经过增强仍然保留下来的，"
        "就是图像*本身*：它的形状，而不是裁剪方式或颜色。BYOL、VICReg 等方法保留了“拉近”，"
        "但用别的机制代替“推开”，于是它们必须避免*坍缩*：所有图像都被映射到同一个点。"
    ),
    "umap_note": (
        "**如何不误读 UMAP。** UMAP 保留的是邻域，而不是距离：簇的大小和簇之间的间隔意义不大，"
        "一个被分成两块的类别在嵌入空间里可能仍是一个整体。请看哪些点互为近邻，"
        "并用 PCA 或“诊断”页上的 kNN 准确率来核对。"
    ),
    "similarity_note": (
        "**如何读相似度矩阵。** 行和列是一个固定探针批次的 {m} 张图像：先是它们的视图 1，再是视图 2。"
        "两条非对角线条带是**正样本对**（一张图像和它的另一个视图）；其余每个格子都是**负样本**。"
        "训练健康时：浅色背景上有醒目的条带。坍缩时：整片都是同样的深红色（所有视图都一样）。"
        "温度过低或增强太弱时：条带醒目，少数负样本也很亮（同一类别的图像）。"
    ),
    "no_runs": "还没有训练。先训练一个吧——用内置的手写数字训练 20 秒的演示就足以看到聚类。",
    # ------------------------------------------------------------------------------------------- shared widgets
    "Quick demo run (20 s)": "快速演示（20 秒）",
    "▶ Quick demo run (20 s)": "▶ 快速演示（20 秒）",
    "Open Train": "打开“训练”",
    "Final loss": "最终损失",
    "kNN top-1": "kNN top-1 准确率",
    "Linear probe": "线性探针",
    "Views / s": "视图数 / 秒",
    "Steps": "步数",
    "Verdict": "结论",
    "Starting the training process…": "正在启动训练进程……",
    "Waiting for a free training slot ({n} in the queue before it).": "正在等待空闲的训练名额（前面还有 {n} 个）。",
    "{p:.0%} · step {step} · {secs:.0f} s elapsed · ETA {eta}": (
        "{p:.0%} · 第 {step} 步 · 已用 {secs:.0f} 秒 · 预计还需 {eta}"
    ),
    "{s:.0f} s": "{s:.0f} 秒",
    "Loading data…": "正在加载数据……",
    "**This run failed.** {msg} Change the settings and start a new run.": (
        "**这次训练失败了。** {msg} 请修改设置后开始新的训练。"
    ),
    "**{state}.** {msg} Continue trains it further.": "**{state}。** {msg} 点“继续”可以接着训练。",
    "**Setting `{field}`**: {message}. Change it and try again.": "**设置 `{field}`**：{message}。请修改后重试。",
    "**The data set could not be loaded**: {e}": "**无法加载数据集**：{e}",
    "**A package the app needs could not be imported** ({e}). Install the requirements again "
    "(`pip install -r requirements.txt`) and restart the app.": (
        "**无法导入应用所需的软件包**（{e}）。请重新安装依赖（`pip install -r requirements.txt`）后重启应用。"
    ),
    "**{e}**. Pick another run in the sidebar, or start a new one on Train.": (
        "**{e}**。请在侧边栏选择其他训练，或在“训练”页开始新的训练。"
    ),
    "The run's data set cannot be loaded here, so its images are not shown: {e}": (
        "这里无法加载该训练的数据集，因此不显示其图像：{e}"
    ),
    "Run {id} has no snapshot yet: the first one is written after its first steps.": (
        "训练 {id} 还没有快照：第一个快照会在最初几步之后写入。"
    ),
    "Run {id} ended before its first snapshot: pick another run in the sidebar, or Continue it on Train.": (
        "训练 {id} 在第一个快照之前就结束了：请在侧边栏选择其他训练，或在“训练”页继续它。"
    ),
    # run states and verdict kinds
    "queued": "排队中",
    "running": "训练中",
    "completed": "已完成",
    "stopped": "已停止",
    "failed": "失败",
    "interrupted": "已中断",
    "Queued": "排队中",
    "Running": "训练中",
    "Completed": "已完成",
    "Stopped": "已停止",
    "Failed": "失败",
    "Interrupted": "已中断",
    "Healthy": "健康",
    "Complete collapse": "完全坍缩",
    "Dimensional collapse": "维度坍缩",
    "Stuck at chance": "停在随机水平",
    "Temperature too low": "温度过低",
    "Temperature too high": "温度过高",
    # data sets and their classes
    "Digits (scikit-learn 8×8, built in)": "手写数字（scikit-learn 8×8，内置）",
    "Shapes (generated, built in)": "几何图形（自动生成，内置）",
    "CIFAR-10": "CIFAR-10",
    "CIFAR-100": "CIFAR-100",
    "MNIST": "MNIST",
    "Fashion-MNIST": "Fashion-MNIST",
    "STL-10": "STL-10",
    "digits": "手写数字",
    "shapes": "几何图形",
    "circle": "圆形",
    "square": "正方形",
    "triangle": "三角形",
    "star": "星形",
    "cross": "十字",
    "ring": "圆环",
    "hexagon": "六边形",
    "heart": "心形",
    "red": "红色",
    "yellow": "黄色",
    "green": "绿色",
    "cyan": "青色",
    "blue": "蓝色",
    "magenta": "品红色",
    "airplane": "飞机",
    "automobile": "汽车",
    "bird": "鸟",
    "cat": "猫",
    "deer": "鹿",
    "dog": "狗",
    "frog": "青蛙",
    "horse": "马",
    "ship": "船",
    "truck": "卡车",
    # ------------------------------------------------------------------------------------------------- Start
    "🧲 Contrastive Learning Explorer": "🧲 对比学习探索器",
    "Training runs on: **{device}**": "训练运行在：**{device}**",
    "Drawing augmented views…": "正在绘制增强视图…",
    "Each row: an image, then its two augmented views — a **positive pair**, pulled together. "
    "Views in different rows are **negatives**, pushed apart.": (
        "每一行：一张图像，然后是它的两个增强视图——一个**正样本对**，被拉近。不同行的视图是**负样本**，被推开。"
    ),
    "What would you like to do?": "你想做什么？",
    "Pick a data set and see what the augmentations do to it.": "选择一个数据集，看看数据增强对它做了什么。",
    "Choose a method, temperature and batch size; train and watch it live.": (
        "选择方法、温度和批次大小；开始训练并实时观察。"
    ),
    "See the learned space with UMAP, PCA or t-SNE, step by step.": "用 UMAP、PCA 或 t-SNE 逐步查看学到的空间。",
    "Is it collapsing? Spectrum, rank, kNN and a temperature what-if.": (
        "是否在坍缩？奇异值谱、秩、kNN 和温度假设分析。"
    ),
    "SimCLR on the built-in digits for 20 seconds.": "在内置的手写数字上训练 SimCLR 20 秒。",
    "Latest runs": "最近的训练",
    "Select a row to make it the current run.": "选中一行，把它设为当前训练。",
    "run": "训练",
    "method": "方法",
    "data": "数据",
    "state": "状态",
    "steps": "步数",
    "verdict": "结论",
    # -------------------------------------------------------------------------------------------------- Data
    "Upload a zip of images…": "上传图像 zip 压缩包……",
    "A folder of images on this computer…": "这台电脑上的图像文件夹……",
    "Data set": "数据集",
    "Zip of images (one sub-folder per class)": "图像 zip 压缩包（每个类别一个子文件夹）",
    "Folder path": "文件夹路径",
    "One sub-folder per class; train/ and test/ sub-folders are used when present.": (
        "每个类别一个子文件夹；如果有 train/ 和 test/ 子文件夹，就用它们划分训练集和测试集。"
    ),
    "Not found in `{root}`: {sets}. Put their files there to use them (the app never downloads).": (
        "在 `{root}` 中未找到：{sets}。把它们的文件放到那里即可使用（本应用从不下载）。"
    ),
    "Data options": "数据选项",
    "Image size (0 = the set's own)": "图像尺寸（0 = 数据集原始尺寸）",
    "Training images (0 = all)": "训练图像数（0 = 全部）",
    "Probe images (embedded at each snapshot)": "探针图像数（每个快照时计算嵌入）",
    "Samples per class (training split)": "每个类别的样本（训练集）",
    "all images": "全部图像",
    "… and {n} more classes.": "……还有 {n} 个类别。",
    "Augmentations": "数据增强",
    "Method preset": "方法预设",
    "custom settings": "自定义设置",
    "Source: {s}": "来源：{s}",
    "Custom settings (no preset matches).": "自定义设置（没有匹配的预设）。",
    "Crop and flip": "裁剪与翻转",
    "Crop area (share of the image)": "裁剪面积（占图像的比例）",
    "Crop aspect ratio (w/h)": "裁剪宽高比（宽/高）",
    "Flip probability": "翻转概率",
    "Colour": "颜色",
    "Colour jitter probability": "颜色抖动概率",
    "Jitter strength (scales all four)": "抖动强度（同时缩放下面四项）",
    "Brightness": "亮度",
    "Contrast": "对比度",
    "Saturation": "饱和度",
    "Hue": "色调",
    "Greyscale probability": "灰度化概率",
    "Blur and solarize": "模糊与曝光反转",
    "Blur probability": "模糊概率",
    "Blur sigma (pixels)": "模糊 σ（像素）",
    "Solarize probability": "曝光反转概率",
    "Solarize threshold": "曝光反转阈值",
    "**Originals and their two views**, drawn by the same batched augmenter the trainer uses.": (
        "**原图和它们的两个视图**，由训练时使用的同一个批量增强器生成。"
    ),
    "🎲 Re-draw": "🎲 重新抽取",
    "originals": "原图",
    "view 1": "视图 1",
    "view 2": "视图 2",
    "These settings carry over to Train. Seed {s}.": "这些设置会带到“训练”页。随机种子 {s}。",
    # augmentation presets (cl_core.augment.AUG_PRESETS): titles and sources
    "Crop + flip only": "仅裁剪 + 翻转",
    "SimCLR without colour": "SimCLR（无颜色增强）",
    "None (identity)": "无（恒等变换）",
    "SimCLR (Chen et al. 2020, arXiv:2002.05709), CIFAR-10 recipe, Appendix B.9 and the google-research/simclr "
    "CIFAR command: colour strength 0.5 on (0.8, 0.8, 0.8, 0.2), no blur": (
        "SimCLR（Chen et al. 2020，arXiv:2002.05709）的 CIFAR-10 配方，见附录 B.9 和 google-research/simclr "
        "的 CIFAR 命令：颜色强度 0.5，作用于 (0.8, 0.8, 0.8, 0.2)，不模糊"
    ),
    "MoCo v2 (Chen et al. 2020, arXiv:2003.04297), the moco repo's --aug-plus recipe (ImageNet; there is no "
    "CIFAR one): crop 0.2-1, blur p=0.5. solo-learn's CIFAR mocov2plus uses crop 0.08-1": (
        "MoCo v2（Chen et al. 2020，arXiv:2003.04297），moco 代码库的 `--aug-plus` 配方（ImageNet；没有 CIFAR "
        "版本）：裁剪 0.2-1，模糊 p=0.5。solo-learn 的 CIFAR `mocov2plus` 使用裁剪 0.08-1"
    ),
    "BYOL (Grill et al. 2020, arXiv:2006.07733) following solo-learn's CIFAR config, "
    "scripts/pretrain/cifar/byol.yaml (asymmetric.yaml): solarize p=0 / 0.2 on the two views, here p=0.1 on "
    "both; no blur at 32x32": (
        "BYOL（Grill et al. 2020，arXiv:2006.07733），参照 solo-learn 的 CIFAR 配置 "
        "scripts/pretrain/cifar/byol.yaml（asymmetric.yaml）：两个视图的曝光反转概率分别为 0 / 0.2，"
        "这里两个都用 0.1；32x32 时不模糊"
    ),
    "SwAV (Caron et al. 2020, arXiv:2006.09882) following solo-learn's CIFAR config, "
    "scripts/pretrain/cifar/swav.yaml (symmetric.yaml): two 32x32 crops, no multi-crop": (
        "SwAV（Caron et al. 2020，arXiv:2006.09882），参照 solo-learn 的 CIFAR 配置 "
        "scripts/pretrain/cifar/swav.yaml（symmetric.yaml）：两个 32x32 裁剪，不用多裁剪"
    ),
    "Barlow Twins (Zbontar et al. 2021, arXiv:2103.03230) following solo-learn's CIFAR config, "
    "scripts/pretrain/cifar/barlow.yaml (asymmetric.yaml): solarize p=0 / 0.2 on the two views, here p=0.1 on "
    "both": (
        "Barlow Twins（Zbontar et al. 2021，arXiv:2103.03230），参照 solo-learn 的 CIFAR 配置 "
        "scripts/pretrain/cifar/barlow.yaml（asymmetric.yaml）：两个视图的曝光反转概率分别为 0 / 0.2，"
        "这里两个都用 0.1"
    ),
    "VICReg (Bardes et al. 2022, arXiv:2105.04906) following solo-learn's CIFAR config, "
    "scripts/pretrain/cifar/vicreg.yaml": (
        "VICReg（Bardes et al. 2022，arXiv:2105.04906），参照 solo-learn 的 CIFAR 配置 "
        "scripts/pretrain/cifar/vicreg.yaml"
    ),
    "SimSiam (Chen & He 2021, arXiv:2011.10566) following solo-learn's CIFAR config, "
    "scripts/pretrain/cifar/simsiam.yaml (symmetric_weak.yaml)": (
        "SimSiam（Chen & He 2021，arXiv:2011.10566），参照 solo-learn 的 CIFAR 配置 "
        "scripts/pretrain/cifar/simsiam.yaml（symmetric_weak.yaml）"
    ),
    "Teaching preset: SimCLR's crop and flip, no colour (SimCLR Sec. 3: crops of one image share a colour "
    "histogram, a shortcut)": (
        "教学预设：SimCLR 的裁剪和翻转，不做颜色增强（SimCLR 第 3 节：同一图像的裁剪共享颜色直方图，这是一条捷径）"
    ),
    "Teaching preset: the simclr preset with jitter_p=0 and grey_p=0": (
        "教学预设：simclr 预设，但 jitter_p=0、grey_p=0"
    ),
    "Teaching preset: the whole image, no flip, no colour: the two views are equal": (
        "教学预设：整张图像，不翻转，不做颜色增强：两个视图完全相同"
    ),
    # ------------------------------------------------------------------------------------------------- Train
    "Method": "方法",
    "Paper": "论文",
    "Teaching switches: break the method on purpose and watch what happens.": (
        "教学开关：故意破坏这个方法，看看会发生什么。"
    ),
    "Temperature T": "温度 T",
    "Divides the cosine similarities before the softmax: low T focuses on hard negatives.": (
        "在 softmax 之前用它除余弦相似度：T 越低，越集中于难负样本。"
    ),
    "Margin m": "间隔 m",
    "Negatives closer than m are pushed apart; farther ones are left alone.": (
        "距离小于 m 的负样本会被推开；更远的则不管。"
    ),
    "Batch size N": "批次大小 N",
    "Learning rate": "学习率",
    "Backbone": "骨干网络",
    "small_cnn": "小型 CNN",
    "small_cnn trains fast on a CPU; resnet18 is about ten times slower there.": (
        "小型 CNN 在 CPU 上训练很快；ResNet-18 在 CPU 上大约慢十倍。"
    ),
    "Budget": "训练预算",
    "seconds": "秒数",
    "Seconds of training": "训练秒数",
    "Training steps": "训练步数",
    "A run also stops after {s:g} s, this server's limit.": "训练最多 {s:g} 秒，这是本服务器的上限。",
    "Seed": "随机种子",
    "Device": "设备",
    "auto": "自动",
    "cpu": "CPU",
    "Advanced settings": "高级设置",
    "Backbone width": "骨干网络宽度",
    "Projection hidden size": "投影头隐藏层大小",
    "Projection output size d": "投影输出维度 d",
    "Optimizer": "优化器",
    "Weight decay": "权重衰减",
    "Warm-up share": "预热比例",
    "Snapshots": "快照数",
    "Embeddings saved at evenly spaced steps, for Embeddings and Diagnostics.": (
        "在均匀间隔的步数保存嵌入，供“嵌入”和“诊断”页使用。"
    ),
    "Log every (steps)": "记录间隔（步）",
    "Probe batch pairs M": "探针批次图像对数 M",
    "Images of the fixed batch whose 2M x 2M similarity matrix is saved.": (
        "固定批次中的图像数，会保存它们的 2M x 2M 相似度矩阵。"
    ),
    "Precision": "精度",
    "What these settings mean": "这些设置意味着什么",
    "Views per step (2N)": "每步的视图数（2N）",
    "Negatives per anchor in the batch (2N−2)": "批次中每个锚点的负样本数（2N−2）",
    "{m} uses no negatives: nothing pushes images apart, so something else must prevent collapse.": (
        "{m} 不使用负样本：没有东西把图像推开，所以必须靠别的机制防止坍缩。"
    ),
    "Chance level ln C": "随机水平 ln C",
    "The loss of an encoder that cannot tell images apart.": "一个无法区分图像的编码器的损失。",
    "Temperature floor": "温度下限",
    "ln(1+(2N−2)e^(−1/T)): the loss when positives match perfectly and every negative is orthogonal. "
    "A loss near it is as good as this temperature allows.": (
        "ln(1+(2N−2)e^(−1/T))：正样本完全匹配、每个负样本都正交时的损失。损失接近它，就已经是这个温度下能达到的最好结果。"
    ),
    "▶ Start training": "▶ 开始训练",
    "■ Stop": "■ 停止",
    "Started in another browser session, or outside this app.": "在另一个浏览器会话中或在本应用之外启动的。",
    "Stopping: the run finishes its step and keeps everything so far.": (
        "正在停止：训练会完成当前这一步，并保留目前的一切。"
    ),
    "More seconds": "再训练的秒数",
    "⏩ Continue": "⏩ 继续",
    "Train this run for longer from where it ended.": "从结束的地方接着训练这个训练。",
    "Use this run's settings": "使用这个训练的设置",
    "Copy the current run's settings into the form above.": "把当前训练的设置复制到上面的表单中。",
    "Start a run to watch it train here.": "开始一个训练，就可以在这里观察它的训练过程。",
    "The first snapshot appears after the first training steps.": "第一个快照会在最初几步训练之后出现。",
    # method option labels (name.replace("_", " ").capitalize()) and choices
    "Projection head": "投影头",
    "Mask self": "屏蔽自身",
    "Positive": "正样本",
    "Queue size": "队列长度",
    "Momentum": "动量",
    "Predictor": "预测器",
    "Stop gradient": "停止梯度",
    "Ema": "滑动平均目标",
    "Prototypes": "原型数",
    "Epsilon": "熵正则 ε",
    "Sinkhorn iterations": "Sinkhorn 迭代次数",
    "Freeze prototypes steps": "冻结原型的步数",
    "Small crops": "小裁剪数",
    "Negative ratio": "负样本比例",
    "Normalize": "归一化",
    "Lambda offdiag": "非对角项权重 λ",
    "Sim weight": "不变性权重",
    "Var weight": "方差权重",
    "Cov weight": "协方差权重",
    "other": "另一个视图",
    "self": "锚点自身",
    # method titles and descriptions (cl_core.methods)
    "Margin contrastive loss": "间隔对比损失",
    "Pull the two views of an image together and push them away from the other 2N-2 views in the batch "
    "(NT-Xent / InfoNCE with temperature).": (
        "把同一图像的两个视图拉近，并把它们与批次中其余 2N-2 个视图推开（带温度的 NT-Xent / InfoNCE）。"
    ),
    "Match each query to the key of its other view, computed by a slowly moving copy of the encoder, against a "
    "long queue of keys from past batches as negatives.": (
        "让每个查询匹配它另一个视图的键（由缓慢更新的编码器副本计算），并以过去批次的键组成的长队列作为负样本。"
    ),
    "Predict, from one view, the projection of the other view computed by a slowly moving average of the "
    "network. No negatives: the predictor and the stop-gradient prevent collapse.": (
        "从一个视图预测另一个视图的投影，后者由网络的缓慢滑动平均计算。没有负样本：预测器和停止梯度防止了坍缩。"
    ),
    "Assign each view to learned prototypes with equal use of every prototype across the batch "
    "(Sinkhorn-Knopp), then predict one view's assignment from the other.": (
        "把每个视图分配给学到的原型，并让批次中每个原型被均等使用（Sinkhorn-Knopp），再从一个视图预测另一个视图的分配。"
    ),
    "Pull positive pairs (two views of one image) together; push negative pairs (views of different images) "
    "apart until they are at least the margin away.": (
        "把正样本对（同一图像的两个视图）拉近；把负样本对（不同图像的视图）推开，直到它们相距至少一个间隔。"
    ),
    "Predict one view's projection from the other with a small bottleneck predictor and a stop-gradient on "
    "the target side; no negatives and no moving average.": (
        "用一个小的瓶颈预测器从一个视图预测另一个视图的投影，目标一侧停止梯度；没有负样本，也没有滑动平均。"
    ),
    "Make the cross-correlation matrix between the two views' projections the identity: each dimension agrees "
    "across views and carries information no other dimension carries.": (
        "让两个视图投影之间的互相关矩阵等于单位矩阵：每个维度在两个视图之间保持一致，并携带其他维度没有的信息。"
    ),
    "Pull the two views' projections together while keeping every dimension's spread above a floor and the "
    "dimensions decorrelated; no negatives, no moving average, no predictor.": (
        "把两个视图的投影拉近，同时让每个维度的离散程度保持在下限之上、各维度互不相关；"
        "没有负样本、没有滑动平均、也没有预测器。"
    ),
    # method option help (cl_core.methods, Option.help)
    "MLP projection head between the backbone and the loss (off: the loss sees backbone features; kNN usually "
    "drops)": "骨干网络与损失之间的 MLP 投影头（关闭：损失直接作用于骨干特征；kNN 通常会下降）",
    "Exclude each embedding's similarity with itself from its softmax (off: the self-similarity 1/T dominates "
    "every row)": "在 softmax 中排除每个嵌入与自身的相似度（关闭：自相似度 1/T 会主导每一行）",
    "Which candidate is the positive: the other view (correct) or the anchor itself, the bug of the widely "
    "copied example with labels = range(2N)": (
        "哪个候选是正样本：另一个视图（正确），或锚点本身——这是被广泛复制的示例代码中 `labels = range(2N)` 的错误"
    ),
    "Keys of past batches kept as negatives; a multiple of the batch size (0: only the other images of the "
    "batch are negatives)": "作为负样本保留的过去批次的键；须是批次大小的倍数（0：只有本批次的其他图像是负样本）",
    "Momentum of the key encoder's moving average (0: the keys come from the online encoder's current "
    "weights, still without gradient)": "键编码器滑动平均的动量（0：键来自在线编码器的当前权重，仍然不传梯度）",
    "MLP predictor on the online branch (off: the online projection regresses the target's directly, and the "
    "representation collapses)": "在线分支上的 MLP 预测器（关闭：在线投影直接回归目标投影，表示会坍缩）",
    "No gradient through the target branch (off: the target is the online network itself, trained from both "
    "sides; it collapses)": "目标分支不传梯度（关闭：目标就是在线网络本身，从两侧一起训练；会坍缩）",
    "Target weights are a moving average of the online weights (off: the target is a detached copy of the "
    "current online weights, i.e. momentum 0)": (
        "目标权重是在线权重的滑动平均（关闭：目标是当前在线权重的分离副本，即动量为 0）"
    ),
    "Base momentum of the moving average; it rises to 1 on a cosine schedule": "滑动平均的基础动量；按余弦调度升到 1",
    "Number of prototypes (clusters)": "原型（聚类中心）的数量",
    "Sinkhorn entropy regularisation: smaller gives harder codes": "Sinkhorn 熵正则化：越小，编码越硬",
    "Sinkhorn-Knopp rounds (0: no equipartition, codes are a plain softmax, and everything can fall into one "
    "prototype)": "Sinkhorn-Knopp 迭代轮数（0：不做均分，编码只是普通的 softmax，所有样本都可能落入同一个原型）",
    "Steps at the start during which the prototypes do not move": "训练开始时原型保持不动的步数",
    "Past projections per view used with the batch to compute the codes, once the queue is full (helps small "
    "batches)": "队列填满后，与本批次一起用来计算编码的每个视图的历史投影数（对小批次有帮助）",
    "Extra small crops per image (multi-crop); each predicts both large views' codes": (
        "每张图像额外的小裁剪（多裁剪）；每个小裁剪都要预测两个大视图的编码"
    ),
    "Negative pairs per positive pair in each batch": "每个批次中每个正样本对所配的负样本对数量",
    "L2-normalise embeddings before measuring distances (then distances lie in [0, 2], so a margin of 2 or "
    "more can never be met)": "计算距离前对嵌入做 L2 归一化（此时距离位于 [0, 2]，所以 2 或更大的间隔永远无法达到）",
    "Bottleneck MLP predictor (off: identity, and the representation collapses)": (
        "瓶颈 MLP 预测器（关闭：恒等映射，表示会坍缩）"
    ),
    "No gradient through the target projection (off: it collapses at once)": "目标投影不传梯度（关闭：立即坍缩）",
    "Weight of the off-diagonal (redundancy-reduction) term (0: only invariance, and the dimensions become "
    "copies of each other)": "非对角（去冗余）项的权重（0：只剩不变性，各维度会变成彼此的副本）",
    "Weight of the invariance term (MSE between views)": "不变性项（视图之间的 MSE）的权重",
    "Weight of the variance hinge (0: nothing stops the collapse)": "方差铰链项的权重（0：没有任何东西阻止坍缩）",
    "Weight of the covariance term (0: dimensions may become copies of each other)": (
        "协方差项的权重（0：各维度可能变成彼此的副本）"
    ),
    # -------------------------------------------------------------------------------------------- Embeddings
    "backbone": "骨干网络",
    "projection head": "投影头",
    "Projection": "投影方法",
    "Dimensions": "维数",
    "{d}-D": "{d} 维",
    "Space": "空间",
    "Backbone features are what kNN and linear probes use; the projection head output is what the loss sees.": (
        "kNN 和线性探针使用的是骨干网络特征；损失看到的是投影头的输出。"
    ),
    "▶ Play all steps": "▶ 播放所有步",
    "An animation over every snapshot, with a slider.": "按快照逐个播放的动画，带滑块。",
    "Training step": "训练步",
    "Snapshots are saved at evenly spaced steps of the run.": "快照保存在训练中均匀间隔的步数上。",
    "Computing the {m} layout (seconds for a few thousand points; the first UMAP after the app starts "
    "also compiles, about 10 s): showing PCA meanwhile.": (
        "正在计算 {m} 布局（几千个点需要几秒；应用启动后的第一次 UMAP 还要编译，约 10 秒）：先显示 PCA。"
    ),
    "{m} of {n} probe images at step {s}": "第 {s} 步时 {n} 张探针图像的 {m}",
    "**PCA** is a linear view: distances are faithful, but only the two or three directions of largest "
    "variance are shown.": "**PCA** 是线性视图：距离是如实的，但只显示方差最大的两三个方向。",
    "Draw a loop around points (or pick the box tool, or click a point) to see their images below. They stay "
    "selected at the other steps; double-click the chart to clear.": (
        "在点周围画一个圈（或用框选工具，或点击一个点），就能在下面看到它们对应的图像。换到其他训练步时它们仍保持"
        "选中；双击图表可清除。"
    ),
    "Every step is drawn on the same axes: an embedding that grows or shrinks during training shows it. Zoom in "
    "with the toolbar.": "每个训练步都画在同一组坐标轴上：嵌入在训练中变大或缩小都看得出来。可用工具栏放大。",
    "{n} selected images": "选中的 {n} 张图像",
    # ------------------------------------------------------------------------------------------- Diagnostics
    "Verdict at step {s}, from the probe batch's two views.": "第 {s} 步的结论，基于探针批次的两个视图。",
    "Spectrum of": "奇异值谱",
    "features (probe set)": "骨干特征（探针集）",
    "projections (probe set)": "投影（探针集）",
    "Protocol: weighted kNN, k=20, T=0.1, on L2-normalised backbone features; memory {m} training images, "
    "queries {q} probe images of the test split, at steps {s}.": (
        "评估方式：在 L2 归一化的骨干特征上做加权 kNN，k=20，T=0.1；记忆库 {m} 张训练图像，"
        "查询为测试集中的 {q} 张探针图像，在第 {s} 步。"
    ),
    "No kNN measurement yet (the data set has no labels, or no snapshot measured it).": (
        "还没有 kNN 测量（数据集没有标签，或还没有快照测量过）。"
    ),
    "Final: {v:.1%} — {p}.": "最终：{v:.1%} —— {p}。",
    "What if? Temperature and margin, without retraining": "假如……？不重新训练，改变温度和间隔",
    "The loss recomputed on the probe batch's two views (frozen embeddings) at any temperature and margin.": (
        "在探针批次的两个视图（冻结的嵌入）上，按任意温度和间隔重新计算损失。"
    ),
    "Snapshot step": "快照步",
    "NT-Xent loss": "NT-Xent 损失",
    "floor {f:.3f}, chance ln(2M−1) = {c:.3f} for M = {m}": "下限 {f:.3f}，M = {m} 时随机水平 ln(2M−1) = {c:.3f}",
    "Contrast accuracy": "对比准确率",
    "Anchors whose positive wins.": "正样本得分最高的锚点所占比例。",
    "Contrast entropy": "对比熵",
    "Entropy of the softmax over candidates; max ln(2M−1) = {c:.2f}.": (
        "候选上 softmax 的熵；最大值 ln(2M−1) = {c:.2f}。"
    ),
    "Margin loss": "间隔损失",
    "Inside the margin": "间隔以内",
    "Share of negative pairs closer than the margin: the ones the margin loss still pushes.": (
        "距离小于间隔的负样本对所占比例：间隔损失仍在推开的那些。"
    ),
    # ----------------------------------------------------------------------------------------------- Lessons
    "Lesson": "课程",
    "Commit prediction": "提交预测",
    "Commit a prediction first: runs start only after the class has decided.": "请先提交预测：全班决定后才开始训练。",
    "Your prediction: **{c}**": "你的预测：**{c}**",
    "Fast (about 2 minutes)": "快速（约 2 分钟）",
    "Full (longer, clearer)": "完整（更久，更清楚）",
    "Start the runs": "开始训练",
    "Run the lesson again": "重新开始本课",
    "Runs: {runs}": "训练：{runs}",
    "Training the lesson's runs…": "正在训练本课的模型……",
    "What the runs show": "训练结果",
    "Claims checked on these runs": "用这些训练检验的结论",
    "Held": "成立",
    "Did not hold": "不成立",
    "Could not be checked": "无法检验",
    "The runs bear out: **{c}**": "训练结果支持：**{c}**",
    "The lesson expects: **{c}** — but not every claim held in these runs: read the numbers above.": (
        "本课预期：**{c}**——但在这些训练中并非每个结论都成立：请看上面的数字。"
    ),
    "Why": "解释",
    "Try next": "接下来试试",
    "Download the report (HTML)": "下载报告（HTML）",
    "Download metrics and configs (zip)": "下载指标和配置（zip）",
    "A lesson file was skipped: {e}": "跳过了一个课程文件：{e}",
    # --------------------------------------------------------------------------------- links and presentation
    "The link's `{name}` was ignored: {why}.": "链接中的 `{name}` 已被忽略：{why}。",
    "a folder cannot come from a link": "文件夹不能来自链接",
    "use dataset=": "请使用 dataset=",
    "use method=": "请使用 method=",
    "there is no such run in this runs folder": "这个训练文件夹中没有这个训练",
    "🔗 Share this view": "🔗 分享此视图",
    "Every setting of this page is in its address: the link reopens this exact view.": (
        "本页的每个设置都在网址中：打开这个链接就会重现完全相同的视图。"
    ),
    "Copy link": "复制链接",
    "Presentation link": "演示链接",
    "For a projector: large type, no sidebar or toolbar, and only the controls you keep.": (
        "用于投影：大号字体，没有侧边栏和工具栏，只保留你选择的控件。"
    ),
    "Controls to keep": "保留的控件",
    "Copy presentation link": "复制演示链接",
    "Copied ✓": "已复制 ✓",
    "The link names runs that are not in this runs folder; they are left out: `{ids}`.": (
        "链接中的这些训练不在这个训练文件夹中，已略去：`{ids}`。"
    ),
    "The link's sweep is not in this runs folder: showing the newest one.": (
        "链接中的扫描不在这个训练文件夹中：显示最新的扫描。"
    ),
    "**{state}.** {msg}": "**{state}。** {msg}",
    # ----------------------------------------------------------------------------------------------- Compare
    "Compare runs": "比较训练",
    "Runs to compare": "要比较的训练",
    "Pick two or more runs": "选择两个或更多训练",
    "Runs from the app and from `python -m cl_core` alike: they share the runs folder.": (
        "来自本应用和来自 `python -m cl_core` 的训练都可以：它们共用同一个训练文件夹。"
    ),
    "Pick the runs to compare above.": "请在上方选择要比较的训练。",
    "Show every setting, not only those that differ": "显示所有设置，而不只是不同的那些",
    "Loss divided by each run's chance level ln C": "损失除以各训练的随机水平 ln C",
    "1 = chance: runs with other batch sizes (another ln C) become comparable.": (
        "1 = 随机水平：批次大小不同（因而 ln C 不同）的训练也能相互比较。"
    ),
    "Download the comparison (HTML)": "下载比较报告（HTML）",
    "Download the metrics (CSV)": "下载指标（CSV）",
    "Click a column title to sort. Highlighted: the settings that differ between these runs.": (
        "点击列标题可以排序。高亮的是这些训练之间不同的设置。"
    ),
    "These runs have the same settings.": "这些训练的设置完全相同。",
    "Loss / ln C": "损失 / ln C",
    "Alignment": "对齐性",
    "Uniformity": "均匀性",
    "Seconds": "秒数",
    # ------------------------------------------------------------------------------------------------ Sweeps
    "{n} s": "{n} 秒",
    "{n} steps": "{n} 步",
    "{n} epochs": "{n} 轮",
    "Each value becomes one ordinary run of the working config (set on Data and Train): {method} on {data}, "
    "{budget} a run, {slots} at a time; the others wait in the queue.": (
        "每个取值都会成为当前配置（在“数据与增强”和“训练”页设置）的一次普通训练：{method}，数据集 {data}，"
        "每次训练 {budget}，同时运行 {slots} 个；其余的在队列中等待。"
    ),
    "Setting to sweep": "要扫描的设置",
    "{p} (now {v})": "{p}（当前为 {v}）",
    "Values, separated by commas": "取值，用逗号分隔",
    "e.g. 0.05, 0.1, 0.5, 1": "例如 0.05, 0.1, 0.5, 1",
    "▶ Launch the sweep": "▶ 开始扫描",
    "No sweep yet: pick a setting and its values, then launch.": "还没有扫描：选择一个设置和它的取值，然后开始。",
    "Sweep": "扫描",
    "Metric": "指标",
    "The chart fills in as the runs finish.": "图表会随着训练陆续完成而逐步填满。",
    "Open these runs in Compare": "在“比较”页打开这些训练",
    "missing": "缺失",
    # -------------------------------------------------------------------------------------------- Playground
    "No training: a few images, two views each, as points on the unit circle or sphere. Move the sliders and "
    "watch what InfoNCE and the margin loss make of them — the same loss functions the trainer uses.": (
        "不需要训练：几张图像，每张两个视图，表示为单位圆或单位球面上的点。拖动滑块，看看 InfoNCE 和间隔损失"
        "会怎样对待它们——用的正是训练器所用的同一组损失函数。"
    ),
    "circle (2-D)": "圆（2 维）",
    "sphere (3-D)": "球面（3 维）",
    "Images N": "图像数 N",
    "N images with two views each: 2N points.": "N 张图像，每张两个视图：共 2N 个点。",
    "🎲 Randomise": "🎲 随机生成",
    "Anchor": "锚点",
    "image {i}, view {v}": "图像 {i}，视图 {v}",
    "Positive closeness": "正样本接近度",
    "1: both views coincide.": "1：两个视图重合。",
    "Negatives spread": "负样本分散度",
    "0: all images in one cluster.": "0：所有图像聚成一团。",
    "Show the copied-example bug (positive = the anchor itself) side by side": (
        "并排显示被广泛复制的示例代码中的错误（正样本 = 锚点本身）"
    ),
    "InfoNCE loss": "InfoNCE 损失",
    "Mean over all 2N anchors: what training logs.": "所有 2N 个锚点的平均值：训练时记录的就是它。",
    "Anchor's loss": "锚点的损失",
    "Chance ln(2N−1)": "随机水平 ln(2N−1)",
    "The loss when all points coincide.": "所有点重合时的损失。",
    "Top negative": "最难负样本",
    "Its share of the push on negatives.": "它在负样本所受推力中所占的比例。",
    "Eff. negatives": "有效负样本数",
    "How many negatives really count: exp(entropy) of their shares of the push.": (
        "真正起作用的负样本有多少：各负样本推力占比的 exp(熵)。"
    ),
    "Mean over all view-1 × view-2 pairs.": "所有“视图 1 × 视图 2”样本对的平均值。",
    "Copied-bug loss": "错误版的损失",
    "Mean over all 2N anchors.": "所有 2N 个锚点的平均值。",
    "Bug: anchor's loss": "错误版：锚点的损失",
    "Bug: chance ln(2N)": "错误版：随机水平 ln(2N)",
    "InfoNCE: the anchor's softmax over its 2N − 1 candidates": "InfoNCE：锚点在 2N − 1 个候选上的 softmax",
    "positive (other view)": "正样本（另一个视图）",
    "Copied bug: the anchor's target is itself": "复制来的错误：锚点的目标是它自己",
    "other view (a negative to the bug)": "另一个视图（在错误版中是负样本）",
    "**Temperature.** A negative's size and colour show its softmax weight: its share of the anchor's push. "
    "At T = {T:g} the nearest negative takes {top:.0%} of the push and {eff:.1f} of the {k} negatives count. "
    "Lower T hands nearly all of it to the closest few; higher T spreads it evenly and the loss climbs towards "
    "ln(2N−1) = {chance:.2f}.": (
        "**温度。** 负样本的大小和颜色表示它的 softmax 权重：它在锚点推力中所占的份额。在 T = {T:g} 时，"
        "最近的负样本承担了 {top:.0%} 的推力，{k} 个负样本中真正起作用的约有 {eff:.1f} 个。T 越低，"
        "推力几乎全部交给最近的少数几个；T 越高，推力分布越均匀，损失也向 ln(2N−1) = {chance:.2f} 攀升。"
    ),
    "**Arrows** show minus the gradient of the anchor's loss: where one step of training moves each point. "
    "The positive is pulled towards the anchor, heavy negatives are pushed away, light ones hardly move.": (
        "**箭头** 表示锚点损失的负梯度：训练走一步时每个点会往哪里移动。正样本被拉向锚点，权重大的负样本被推开，"
        "权重小的几乎不动。"
    ),
    "**Margin loss.** Each dot is a pair of a view 1 and a view 2. Positive pairs pay their squared distance; "
    "negative pairs pay only while closer than the margin m = {m:g} — beyond the dashed line they get no push "
    "at all.": (
        "**间隔损失。** 每个点是一个由视图 1 和视图 2 组成的样本对。正样本对的代价是距离的平方；负样本对只有在"
        "距离小于间隔 m = {m:g} 时才有代价——越过虚线后就完全不再被推开。"
    ),
    "**The copied bug** ({b:.3f} against {c:.3f}). Its target is the anchor itself, whose similarity is always "
    "1, the top score, so its loss falls whenever *every* other point moves away — including the anchor's own "
    "other view: on the right its arrow points away from the anchor. Nothing pulls the two views together, so "
    "a low loss here teaches nothing about what the views share.": (
        "**复制来的错误**（{b:.3f} 对比 {c:.3f}）。它的目标是锚点本身，而锚点与自身的相似度总是 1、是最高分，"
        "所以只要*其他所有*点都远离，它的损失就会下降——包括锚点自己的另一个视图：右图中它的箭头指向远离锚点的方向。"
        "没有任何东西把两个视图拉到一起，所以这里的低损失学不到视图之间的共同点。"
    ),
    # ========================================================= messages from cl_core, matched as templates
    # verdict reasons (cl_core.metrics.diagnose)
    "Per-dimension std {std} is {share} of the healthy {healthy} and the effective rank is {rank}: every image "
    "maps to nearly the same point.": (
        "每维标准差 {std} 只有健康值 {healthy} 的 {share}，有效秩为 {rank}：每张图像都被映射到几乎同一个点。"
    ),
    "Try: turn the predictor / stop-gradient back on, lower the learning rate, or use negatives.": (
        "可以试试：重新打开预测器 / 停止梯度，降低学习率，或者使用负样本。"
    ),
    "The loss {loss} is not below the chance level ln C = {chance}: the encoder cannot yet tell an image's "
    "other view from the other images.": (
        "损失 {loss} 没有低于随机水平 ln C = {chance}：编码器还无法把一张图像的另一个视图与其他图像区分开。"
    ),
    "Try: train longer, raise the learning rate, or weaken the augmentations.": (
        "可以试试：训练更久，提高学习率，或者减弱数据增强。"
    ),
    "Effective rank {rank} of a possible {d}: the embeddings fill only a few directions.": (
        "有效秩为 {rank}（最大可能为 {d}）：嵌入只占据了少数几个方向。"
    ),
    "Try: a larger batch or more negatives, weaker augmentations, a higher temperature, or a decorrelating "
    "loss (Barlow Twins, VICReg).": (
        "可以试试：更大的批次或更多负样本，更弱的数据增强，更高的温度，或者去相关的损失（Barlow Twins、VICReg）。"
    ),
    "Per-dimension std {std} ({share} of healthy), effective rank {rank} of {d}, positives at cos {pos} vs "
    "negatives at {neg}.": (
        "每维标准差 {std}（健康值的 {share}），有效秩 {rank} / {d}，正样本对的 cos 为 {pos}，负样本对为 {neg}。"
    ),
    "At T = {t} the single hardest negative takes {share} of the push on average: the loss is dominated by a "
    "few negatives, often images of the same class.": (
        "在 T = {t} 时，最难的那一个负样本平均承担了 {share} 的推力：损失被少数负样本主导，它们往往是同一类别的图像。"
    ),
    "Try: raise the temperature towards 0.1-0.5.": "可以试试：把温度提高到 0.1-0.5 附近。",
    "At T = {t} the logits span only ±{span}: positives (cos {pm} ± {ps}) overlap negatives (cos {nm} ± {ns}) "
    "and every negative is pushed alike.": (
        "在 T = {t} 时，logits 的范围只有 ±{span}：正样本对（cos {pm} ± {ps}）与负样本对（cos {nm} ± {ns}）"
        "重叠，每个负样本受到的推力都差不多。"
    ),
    "Try: lower the temperature towards 0.1-0.5.": "可以试试：把温度降低到 0.1-0.5 附近。",
    # config errors (cl_core.config, the methods, the trainer, presets, settings)
    "expected {kind}, got {value}": "应为 {kind}，实际为 {value}",
    "expected a number, got {value}": "应为数字，实际为 {value}",
    "expected an integer, got {value}": "应为整数，实际为 {value}",
    "must be a finite number, got {value}": "必须是有限的数，实际为 {value}",
    "must be {low} and {high}; got {value}": "必须 {low} 且 {high}；实际为 {value}",
    "must be {bound}; got {value}": "必须 {bound}；实际为 {value}",
    "must be one of {choices}; got {value}": "必须是 {choices} 之一；实际为 {value}",
    "expected a JSON object, got {kind}": "应为 JSON 对象，实际为 {kind}",
    "expected an object, got {kind}": "应为对象，实际为 {kind}",
    "expected an object of NAME: VALUE": "应为 `NAME: VALUE` 形式的对象",
    "unknown setting; known: {known}": "未知的设置；可用的有：{known}",
    "unknown section; known: data, augment, method, train": "未知的配置段；可用的有：data, augment, method, train",
    "unknown option for method {m}; known: {known}": "方法 {m} 没有这个选项；可用的有：{known}",
    "unknown option for {m}; known: {known}": "{m} 没有这个选项；可用的有：{known}",
    "unknown data set {name}; known: {known}, folder:PATH": "未知的数据集 {name}；可用的有：{known}、folder:PATH",
    "must be 0 (native) or between 8 and 512; got {value}": "必须为 0（原始尺寸）或 8 到 512 之间；实际为 {value}",
    "unknown method {m}; known: {known}": "未知的方法 {m}；可用的有：{known}",
    "unknown backbone {b}; known: {known}": "未知的骨干网络 {b}；可用的有：{known}",
    "set a budget: seconds, steps or epochs must be > 0": "请设置训练预算：秒数、步数或轮数必须 > 0",
    "must be auto, cpu, cuda, cuda:N or mps; got {value}": "必须是 auto、cpu、cuda、cuda:N 或 mps；实际为 {value}",
    "expected cuda:N with N a number; got {value}": "应为 cuda:N（N 为数字）；实际为 {value}",
    "{device} is not available ({found} here); use auto or cpu": "{device} 不可用（这里{found}）；请使用 auto 或 cpu",
    "{n} CUDA device(s)": "有 {n} 个 CUDA 设备",
    "no CUDA GPU": "没有 CUDA GPU",
    "Apple's MPS is not available here; use auto or cpu": "这里无法使用 Apple 的 MPS；请使用 auto 或 cpu",
    "must be a multiple of the batch size {b} (or 0); got {k}": "必须是批次大小 {b} 的倍数（或 0）；实际为 {k}",
    "must be false when positive=self (the anchor cannot be its own masked positive)": (
        "positive=self 时必须为 false（锚点不能把被屏蔽的自己当作正样本）"
    ),
    "{p} prototypes is more than the batch ({b}) plus the queue ({q}) can spread over; use fewer or a queue": (
        "{p} 个原型超过了批次（{b}）加队列（{q}）所能分摊的数量；请减少原型数或使用队列"
    ),
    "the global batch {b} must be divisible by {w} processes": "全局批次 {b} 必须能被 {w} 个进程整除",
    "SyncBatchNorm needs CUDA devices; set it to false on the CPU": (
        "SyncBatchNorm 需要 CUDA 设备；在 CPU 上请设为 false"
    ),
    "unknown preset {name}; known: {known}": "未知的预设 {name}；可用的有：{known}",
    "must be <= {cap} on this server ({key} in its settings file); got {value}": (
        "在本服务器上必须 <= {cap}（见设置文件中的 {key}）；实际为 {value}"
    ),
    "must be true or false; got {value}": "必须为 true 或 false；实际为 {value}",
    "must be a whole number from {low} to {high}; got {value}": "必须是 {low} 到 {high} 之间的整数；实际为 {value}",
    "settings file {path}: {e}; that key keeps its default": "设置文件 {path}：{e}；该项保持默认值，其余各项照常生效",
    "settings file {path}: {n} bad keys keep their defaults, first {e}": (
        "设置文件 {path}：有 {n} 项无效，保持默认值，第一项：{e}"
    ),
    "settings file {path}: {e}; locked down until it is fixed: private, no server folders": (
        "设置文件 {path}：{e}；修正之前服务器处于锁定状态：私人模式，不读取服务器上的文件夹"
    ),
    "this server reads no folders of its own (local_folders in its settings file): upload a zip instead": (
        "本服务器不读取它自己的文件夹（见设置文件中的 local_folders）：请改为上传 zip 文件"
    ),
    # sweeps and the playground (cl_core.sweep, cl_core.playground)
    "give at least one value, separated by commas (e.g. 0.05, 0.1, 0.5)": (
        "请至少给出一个取值，用逗号分隔（例如 0.05, 0.1, 0.5）"
    ),
    "at most {n} values in one sweep; got {k}": "一次扫描最多 {n} 个取值；实际为 {k}",
    "each value once, please; got {v}": "每个取值只能出现一次；实际为 {v}",
    "must be an integer from {low} to {high}": "必须是 {low} 到 {high} 之间的整数",
    "must be 2 (circle) or 3 (sphere)": "必须为 2（圆）或 3（球面）",
    "must be an integer from 0 to 2^32 - 1": "必须是 0 到 2^32 - 1 之间的整数",
    "must be between {low} and {high}": "必须在 {low} 和 {high} 之间",
    "must be an embedding index from 0 to {n}": "必须是 0 到 {n} 之间的嵌入序号",
    "must be above 0 and at most 4": "必须大于 0 且不超过 4",
    # data errors and reports (cl_core.data, cl_core.settings)
    "{name}: {split} images must be (N, H, W, 3) uint8, got {dtype} {shape}": (
        "{name}：{split} 图像必须是 (N, H, W, 3) 的 uint8，实际为 {dtype} {shape}"
    ),
    "{name}: {split} labels {shape} do not match {n} images": "{name}：{split} 标签 {shape} 与 {n} 张图像不匹配",
    "{name}: {train} train / {test} test, {w}x{h} RGB, {classes}": (
        "{name}：训练集 {train} 张 / 测试集 {test} 张，{w}x{h} RGB，{classes}"
    ),
    "{n} classes": "{n} 个类别",
    "unlabelled": "无标签",
    "{title} not found under {folder} (missing {files})": "在 {folder} 下找不到 {title}（缺少 {files}）",
    "download {url} and extract it into {folder}": "下载 {url} 并解压到 {folder}",
    "{where} and download is off: turn download on, or {fix}": "{where}，且下载已关闭：请打开下载，或{fix}",
    "{where} and could not be downloaded ({err}; no network?): {fix}": (
        "{where}，且无法下载（{err}；没有网络？）：{fix}"
    ),
    "{where} even after downloading: {fix}": "{where}（下载之后仍然如此）：{fix}",
    "{path} is not a readable CIFAR python batch ({err}): re-download the archive": (
        "{path} 不是可读的 CIFAR python 批次文件（{err}）：请重新下载压缩包"
    ),
    "{path} is not an idx ubyte file: re-download it": "{path} 不是 idx ubyte 文件：请重新下载",
    "{path} is truncated ({n} of {m} bytes): re-download it": "{path} 不完整（{m} 字节中只有 {n}）：请重新下载",
    "{path} is truncated: re-download the archive": "{path} 不完整：请重新下载压缩包",
    "{source} holds more than {limits}: use a smaller set": "{source} 超过了 {limits}：请使用更小的数据集",
    "{n} files or {mb} MB": "{n} 个文件或 {mb} MB",
    "folder not found: {path}": "找不到文件夹：{path}",
    "{path} is neither a folder nor a .zip archive of one": "{path} 既不是文件夹，也不是文件夹的 .zip 压缩包",
    "{path} is larger than {mb} MB: use a smaller archive": "{path} 大于 {mb} MB：请使用更小的压缩包",
    "{path} is not a readable zip archive ({err})": "{path} 不是可读的 zip 压缩包（{err}）",
    "no usable images in {source}: {report}": "{source} 中没有可用的图像：{report}",
    "no usable images under train/ in {source}: {report}": "{source} 的 train/ 下没有可用的图像：{report}",
    "image_size and max_train must be >= 0, got {a} and {b}": "image_size 和 max_train 必须 >= 0，实际为 {a} 和 {b}",
    "the digits set comes with scikit-learn, which is not installed: `pip install scikit-learn`": (
        "digits 数据集随 scikit-learn 提供，但它没有安装：`pip install scikit-learn`"
    ),
    "unknown data set {name}: choose one of {known}, or folder:PATH": (
        "未知的数据集 {name}：请从 {known} 中选择，或使用 folder:PATH"
    ),
    "{name} is {size} MB; this server accepts uploads up to {cap} MB (max_upload_mb in its settings file)": (
        "{name} 有 {size} MB；本服务器只接受不超过 {cap} MB 的上传（见设置文件中的 max_upload_mb）"
    ),
    "{n} images in {c} classes": "{n} 张图像，{c} 个类别",
    "{n} unlabelled images": "{n} 张无标签图像",
    "{kept}; skipped {n} {why}": "{kept}；跳过 {n} 个{why}",
    "not images": "非图像文件",
    "unreadable": "无法读取的文件",
    "unsafe (links, paths leaving the folder, or over the size limit)": (
        "不安全的文件（链接、指向文件夹外的路径或超出大小限制）"
    ),
    "outside the class folders": "类别文件夹之外的文件",
    # run and job errors, run status messages (cl_core.runs, cl_core.jobs, cl_core.trainer)
    "cannot read {path}: {e}": "无法读取 {path}：{e}",
    "not a run id: {id}": "不是有效的训练 ID：{id}",
    "run {id} is outside {root}": "训练 {id} 不在 {root} 中",
    "cannot read snapshot {path}: {e}": "无法读取快照 {path}：{e}",
    "{path} is not a run directory (no config.json)": "{path} 不是训练目录（没有 config.json）",
    "run {id} has no checkpoint to continue from (it never finished a step)": (
        "训练 {id} 没有可以继续的检查点（它一步也没有完成）"
    ),
    "submit needs a config or a run to resume": "提交时需要一个配置，或一个要继续的训练",
    "run {id} is already {state}": "训练 {id} 的状态已经是：{state}",
    "run {id} was not started by this app, so it cannot be stopped here": (
        "训练 {id} 不是由本应用启动的，所以不能在这里停止"
    ),
    "run {id} belongs to another session; only its owner can stop it": (
        "训练 {id} 属于另一个会话；只有它的所有者才能停止它"
    ),
    "run {id} belongs to another session; only its owner may continue it": (
        "训练 {id} 属于另一个会话；只有它的所有者才能继续它"
    ),
    "this session already has {n} runs queued or running and asks for {k} more; this server allows {cap} "
    "(max_runs_per_session); wait for one to finish or stop one": (
        "这个会话已经有 {n} 个训练在排队或运行，又要再开 {k} 个；本服务器最多允许 {cap} 个（max_runs_per_session）；"
        "请等其中一个结束，或停止一个"
    ),
    "Loading data": "正在加载数据",
    "Training": "训练中",
    "Waiting for a free training slot": "正在等待空闲的训练名额",
    "Stopped by request at step {step}.": "已按要求在第 {step} 步停止。",
    "Stopped before it started.": "在开始之前已停止。",
    "Stopped before training began.": "在训练开始之前已停止。",
    "Dropped before it started: the browser session that queued it ended.": (
        "在开始之前被取消：排队它的浏览器会话已结束。"
    ),
    "Dropped: the app shut down.": "已取消：应用已关闭。",
    "The training process could not start: {e}": "训练进程无法启动：{e}",
    "The training process exited with code {code}: {tail}": "训练进程以代码 {code} 退出：{tail}",
    "The training process ended without finishing (killed or crashed); everything it logged is kept.": (
        "训练进程没有正常结束（被终止或崩溃）；它记录的一切都已保留。"
    ),
    "{what} It saved no checkpoint to continue from: start it again from Train.": (
        "{what}它没有保存可以继续的检查点：请在“训练”页重新开始。"
    ),
    "The app that queued this run ended before the run could start; start it again from Train.": (
        "排队这个训练的应用在训练开始之前就退出了；请在“训练”页重新开始。"
    ),
    "The loss became NaN or infinite at step {step} (last finite loss: {last}). Likely cause: {causes}. "
    "Everything logged before it is kept.": (
        "损失在第 {step} 步变成了 NaN 或无穷大（最后一个有限的损失：{last}）。可能的原因：{causes}。"
        "此前记录的一切都已保留。"
    ),
    "{a}; or {b}": "{a}；或者{b}",
    "the learning rate {lr} is too high (try {lower})": "学习率 {lr} 太高（试试 {lower}）",
    "the temperature {t} is too low: exp(1/T) overflows (try 0.1 or more)": (
        "温度 {t} 太低：exp(1/T) 溢出（试试 0.1 或更高）"
    ),
    "fp16 overflowed (try precision bf16 or fp32)": "fp16 溢出（试试精度 bf16 或 fp32）",
    "none yet": "暂无",
    "weighted kNN, k=20, T=0.1, memory {m} train images, queries {q} test images, step {s}": (
        "加权 kNN，k=20，T=0.1，记忆库 {m} 张训练图像，查询 {q} 张测试图像，第 {s} 步"
    ),
    # figures (cl_core.figures, cl_core.lessons, ui): titles, axes, legends, annotations, hover labels
    "Training loss": "训练损失",
    "training step": "训练步",
    "loss (nats)": "损失（nats）",
    "loss / ln C (1 = chance)": "损失 / ln C（1 = 随机水平）",
    "{name} (raw)": "{name}（原始）",
    "{name}: chance ln C = {v}": "{name}：随机水平 ln C = {v}",
    "{name}: chance ln(2N-1) = {v}": "{name}：随机水平 ln(2N-1) = {v}",
    "temperature floor {v}": "温度下限 {v}",
    "Cosine similarity, images ordered [view 1; view 2]: positive pairs form the two off-diagonal bands": (
        "余弦相似度，图像按 [视图 1; 视图 2] 排列：正样本对构成两条非对角线条带"
    ),
    "image ({a}: view 1, {b}: view 2)": "图像（{a}：视图 1，{b}：视图 2）",
    "image": "图像",
    "row %{y}, col %{x}<br>cos %{z:.2f}<extra></extra>": "第 %{y} 行，第 %{x} 列<br>cos %{z:.2f}<extra></extra>",
    "step ": "训练步 ",
    "step {s}": "第 {s} 步",
    "positive pairs": "正样本对",
    "negative pairs": "负样本对",
    "cosine similarity": "余弦相似度",
    "share of softmax weight exp(s/T), T = {t}": "softmax 权重 exp(s/T) 的占比，T = {t}",
    "share of total weight": "占总权重的比例",
    "density": "密度",
    "Positive vs negative pair similarities": "正样本对与负样本对的相似度",
    "margin m = {m}": "间隔 m = {m}",
    "⚠ margin ≥ 2: unit vectors are never farther apart than 2, so no negative can leave the margin; every "
    "negative keeps being pushed.": (
        "⚠ 间隔 ≥ 2：单位向量之间的距离从不超过 2，所以没有负样本能离开间隔；每个负样本都会一直被推开。"
    ),
    "Pair distances and the margin": "样本对距离与间隔",
    "distance ‖z_i − z_j‖ (unit vectors)": "距离 ‖z_i − z_j‖（单位向量）",
    "probe images": "探针图像",
    "image %{customdata}<br>{name}<extra></extra>": "图像 %{customdata}<br>{name}<extra></extra>",
    "component {i}": "成分 {i}",
    "Probe embeddings ({m})": "探针集嵌入（{m}）",
    "Probe embeddings (projection)": "探针集嵌入（投影）",
    "class": "类别",
    "Singular value spectrum": "奇异值谱",
    "index (largest first)": "序号（从大到小）",
    "singular value (log scale)": "奇异值（对数坐标）",
    "effective rank": "有效秩",
    "per-dim std": "每维标准差",
    "healthy 1/√d = {v}": "健康值 1/√d = {v}",
    "max min(N, d) = {v}": "最大值 min(N, d) = {v}",
    "collapsed": "坍缩",
    "std (unit vectors)": "标准差（单位向量）",
    "Collapse monitors: effective rank and per-dimension std": "坍缩监测：有效秩与每维标准差",
    "step %{customdata}<br>uniformity %{x:.3f}<br>alignment %{y:.3f}<extra></extra>": (
        "第 %{customdata} 步<br>均匀性 %{x:.3f}<br>对齐性 %{y:.3f}<extra></extra>"
    ),
    "Alignment vs uniformity (★ = latest)": "对齐性与均匀性（★ = 最新）",
    "uniformity log E exp(−2‖z_i − z_j‖²) (lower: more uniform)": "均匀性 log E exp(−2‖z_i − z_j‖²)（越低越均匀）",
    "alignment E‖z − z⁺‖² (lower: better aligned)": "对齐性 E‖z − z⁺‖²（越低对齐得越好）",
    "Test accuracy of a weighted kNN on backbone features": "骨干特征上加权 kNN 的测试准确率",
    "kNN top-1 (k=20, T=0.1)": "kNN top-1 准确率（k=20，T=0.1）",
    "{metric} vs {param}": "{metric} 与 {param}",
    "penalty": "惩罚",
    "even push 1/K": "平均推力 1/K",
    "Where the push on negatives goes": "推开负样本的力落在哪里",
    "negative, hardest first (rank)": "负样本，从最难的开始（排名）",
    "relative penalty (share of push)": "相对惩罚（推力占比）",
    "views of one image": "同一图像的两个视图",
    "image {i}, view {v}<br>softmax weight {w}": "图像 {i}，视图 {v}<br>softmax 权重 {w}",
    "negatives (size = softmax weight)": "负样本（大小 = softmax 权重）",
    "anchor": "锚点",
    "−gradient (scaled)": "−梯度（已缩放）",
    "positive pairs: d²": "正样本对：d²",
    "negative pairs: max(0, m − d)²": "负样本对：max(0, m − d)²",
    "Margin loss against distance": "间隔损失随距离的变化",
    "distance d = ‖z_i − z_j‖": "距离 d = ‖z_i − z_j‖",
    "loss of the pair": "样本对的损失",
    "temperature": "温度",
    "{run}: shape (PCA)": "{run}：形状（PCA）",
    "{run}: background colour (PCA)": "{run}：背景颜色（PCA）",
    "{run}: distances": "{run}：距离",
    "{run}: pair similarities": "{run}：样本对相似度",
    "{run}: similarity matrix": "{run}：相似度矩阵",
    "{run}: effective rank and std": "{run}：有效秩与标准差",
    "{run}: singular values": "{run}：奇异值",
    "kNN accuracy: class": "kNN 准确率：类别",
    "kNN accuracy: background colour": "kNN 准确率：背景颜色",
    "Linear probe: class": "线性探针：类别",
    "Spread: std per dimension": "离散度：每维标准差",
    "Effective rank": "有效秩",
    "Uniformity (lower: more even)": "均匀性（越低越均匀）",
    "Alignment (lower: views closer)": "对齐性（越低视图越近）",
    "Positive pairs: mean cosine": "正样本对：平均余弦",
    "Negative pairs: mean cosine": "负样本对：平均余弦",
    "Prototypes in use": "使用中的原型",
    "Positive pairs: mean distance": "正样本对：平均距离",
    "Negative pairs: mean distance": "负样本对：平均距离",
    "knn_top1": "kNN top-1",
    "colour_knn": "颜色 kNN",
    "linear_probe": "线性探针",
    "std": "标准差",
    "effective_rank": "有效秩",
    "uniformity": "均匀性",
    "alignment": "对齐性",
    "pos_sim_mean": "正样本对平均余弦",
    "neg_sim_mean": "负样本对平均余弦",
    "final_loss": "最终损失",
    "prototypes_used": "使用中的原型",
    "pos_dist": "正样本对平均距离",
    "neg_dist": "负样本对平均距离",
}
FIGURE_KEYS = (
    "text",
    "name",
    "hovertemplate",
    "hovertext",
    "prefix",
    "title",
)  # string-valued plotly properties shown as text
_LETTERS = re.compile(r"[A-Za-z]")


def translate(text: str, lang: str) -> str:
    """``text`` in ``lang``: its table entry, else a filled-in template it matches, else the text unchanged."""
    if lang == "en" or not isinstance(text, str) or not text:
        return text
    return _zh(text)


MAX_MATCHED = 1000  # longer messages stay English: matching a template costs ~ length**4 in the worst case


@functools.lru_cache(maxsize=8192)
def _zh(text: str) -> str:
    if text in ZH:
        return ZH[text]
    if len(text) > MAX_MATCHED:  # e.g. an error quoting a huge value from a crafted link: never stall the server
        return text
    for pattern, template in _templates():
        m = pattern.fullmatch(text)
        if m:  # the values (numbers, names, nested messages) are translated in turn
            return template.format(**{k: _zh(v) for k, v in m.groupdict().items()})
    return text


def fields(template: str) -> list[str]:
    """The placeholder names of a template, in order (``"{a:.2f} of {b}"`` -> ``["a", "b"]``)."""
    return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    """(regex, Chinese template without format specs) of each key with placeholders, most specific first.

    A key takes part only if its fixed text holds at least two letters: ``"{d}-D"`` would match too much.
    """
    out = []
    for en, zh in ZH.items():
        parts = list(string.Formatter().parse(en))
        literal = "".join(p[0] for p in parts)
        if not fields(en) or len(_LETTERS.findall(literal)) < 2:
            continue
        regex, seen = "", set()
        for lit, name, _, _ in parts:
            regex += re.escape(lit)
            if name is not None:
                regex += f"(?P={name})" if name in seen else f"(?P<{name}>.*?)"
                seen.add(name)
        plain = "".join(
            lit.replace("{", "{{").replace("}", "}}") + ("" if name is None else "{" + name + "}")
            for lit, name, _, _ in string.Formatter().parse(zh)
        )
        out.append((len(literal), re.compile(regex, re.DOTALL), plain))
    return [(p, z) for _, p, z in sorted(out, key=lambda x: -x[0])]


def translate_figure(fig: Any, lang: str) -> Any:
    """A translated copy of a plotly figure (titles, axes, legends, annotations, hover labels, slider prefix).

    English gives the figure itself; otherwise the figure is never modified, so a cached one stays as it was.
    """
    if lang == "en":
        return fig
    import plotly.graph_objects as go

    return go.Figure(_walk(fig.to_dict(), lang))


def _walk(node: Any, lang: str) -> Any:
    if isinstance(node, dict):
        for k, v in node.items():
            if k in FIGURE_KEYS and isinstance(v, str):
                node[k] = translate(v, lang)
            elif k in FIGURE_KEYS and isinstance(v, list) and v and isinstance(v[0], str):
                node[k] = [translate(x, lang) for x in v]
            elif isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict)):
                _walk(v, lang)
    elif isinstance(node, list):
        for v in node:
            _walk(v, lang)
    return node
